// setTimeout for any delay. Node fires a timer at once when its delay is over
// 2^31-1 ms (~24.8 days), and a client may ask for a deadline of up to
// 99,999,999 hours: such a timer is re-armed in steps until it is due.

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
}

export function setLongTimeout(callback: () => void, delayMs: number): LongTimeout {
  const due = Date.now() + delayMs;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = due - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(callback, Math.max(left, 0));
  };
  arm();
  return { clear: () => clearTimeout(timer) };
}
