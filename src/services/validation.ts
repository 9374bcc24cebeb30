// Rules for what a client may send. Each failure names the field, so a
// caller can tell which part of its request to fix. Pure functions: no I/O.
import { InvalidArgumentError } from "../shared/errors";

export const LIMITS = {
  nameMaxChars: 200,
  categoryMaxChars: 100,
  tagMaxChars: 50,
  tagsMax: 32,
} as const;

// Any RFC 4122 layout (version and variant are not checked: Postgres accepts any).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ProductInput {
  readonly name: string;
  readonly price: number;
  readonly category: string;
  readonly tags: readonly string[];
}

/** Length in Unicode code points, the unit a person counts in. */
function charCount(value: string): number {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
}

function checkText(field: string, value: string, { min, max }: { min: number; max: number }): void {
  // Postgres text cannot hold NUL; refuse it here rather than fail in the driver.
  if (value.includes("\0")) throw new InvalidArgumentError(field, "must not contain NUL characters");
  const length = charCount(value);
  if (length < min) throw new InvalidArgumentError(field, "must not be empty");
  if (length > max) throw new InvalidArgumentError(field, `must be at most ${max} characters, got ${length}`);
}

export function checkId(field: string, id: string): string {
  if (!UUID.test(id)) throw new InvalidArgumentError(field, "must be a UUID");
  return id.toLowerCase();
}

export function checkPrice(field: string, price: number): number {
  if (!Number.isFinite(price)) throw new InvalidArgumentError(field, "must be a finite number");
  if (price < 0) throw new InvalidArgumentError(field, "must not be negative");
  // -0 is "not negative" but would round-trip as -0; store plain zero.
  return price === 0 ? 0 : price;
}

/** Validates one product to create; `prefix` locates it in a batch (e.g. "items[4].") */
export function checkProductInput(input: ProductInput, prefix = ""): ProductInput {
  checkText(`${prefix}name`, input.name, { min: 1, max: LIMITS.nameMaxChars });
  const price = checkPrice(`${prefix}price`, input.price);
  checkText(`${prefix}category_id`, input.category, { min: 0, max: LIMITS.categoryMaxChars });
  if (input.tags.length > LIMITS.tagsMax) {
    throw new InvalidArgumentError(
      `${prefix}tags`,
      `must hold at most ${LIMITS.tagsMax} tags, got ${input.tags.length}`,
    );
  }
  input.tags.forEach((tag, index) => checkText(`${prefix}tags[${index}]`, tag, { min: 1, max: LIMITS.tagMaxChars }));
  return { name: input.name, price, category: input.category, tags: [...input.tags] };
}
