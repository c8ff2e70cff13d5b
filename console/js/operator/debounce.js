/**
 * `fn` called once typing pauses for `ms` (the operator types while the caller talks: one
 * request per pause, not one per key). `.cancel()` drops a pending call.
 */
export function debounce(fn, ms) {
  let timer = null;
  const debounced = (...args) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), ms);
  };
  debounced.cancel = () => window.clearTimeout(timer);
  return debounced;
}
