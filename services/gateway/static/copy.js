// Copy buttons for the one-time credentials view. Optional: without JavaScript the buttons stay
// hidden and the values remain selectable (a click selects all of a value).
document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
  const source = document.getElementById(button.dataset.copy);
  const status = document.querySelector(".copied");
  if (!source || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(source.textContent.trim());
    if (status) status.textContent = button.textContent.replace("Copy ", "") + " copied.";
  });
});
