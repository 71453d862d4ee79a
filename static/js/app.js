// Glue only. When the live queue swaps rows, keep keyboard focus somewhere sensible.
document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (target && target.id === "queue-rows" && !document.activeElement?.isConnected) {
    document.getElementById("queue-status")?.focus?.();
  }
});
