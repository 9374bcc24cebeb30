// A write's statement whose outcome is unknown (the data layer's
// StatementOutcomeUnknownError) becomes the domain's WriteOutcomeUnknownError,
// which clients see as UNAVAILABLE with reason WRITE_OUTCOME_UNKNOWN. Only
// writes say so: a read that lost its connection is merely unavailable.
import { outcomeUnknown } from "../db/statement-errors";
import { WriteOutcomeUnknownError } from "../shared/errors";

export async function asWrite<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof WriteOutcomeUnknownError || !outcomeUnknown(error)) throw error;
    throw new WriteOutcomeUnknownError({ cause: error });
  }
}
