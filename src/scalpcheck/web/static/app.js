// scalpcheck's few enhancements; every page also works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const el of document.querySelectorAll("time[data-local]")) {
    const moment = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(moment.getTime())) {
      const dateOnly = !el.textContent.includes(":");
      el.textContent = dateOnly
        ? moment.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" })
        : moment.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
  }
  const upload = document.querySelector("form[data-upload]");
  if (upload) setUpUpload(upload);
});

// Upload form: camera or library input, drag and drop, a preview, a size check, and a spinner while the
// photo goes up. Both inputs are named "image"; the one left empty is cleared so only one photo is sent.
function setUpUpload(form) {
  const camera = form.querySelector("#image-camera");
  const library = form.querySelector("#image-file");
  const dropzone = form.querySelector("[data-dropzone]");
  const preview = form.querySelector("[data-preview]");
  const hint = form.querySelector("[data-hint]");
  const filename = form.querySelector("[data-filename]");
  const clientError = form.querySelector("[data-client-error]");
  const submit = form.querySelector("[data-submit]");
  const spinner = form.querySelector("[data-spinner]");
  const maxBytes = Number(form.dataset.maxBytes);
  let previewUrl = null;

  function showError(message) {
    clientError.textContent = message;
    clientError.hidden = !message;
  }

  function choose(file, source, other) {
    other.value = "";
    if (file.size > maxBytes) {
      source.value = "";
      showError(`This photo is ${(file.size / 1048576).toFixed(1)} MB; the limit is ${Math.floor(maxBytes / 1048576)} MB.`);
      return;
    }
    showError("");
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
    hint.hidden = true;
    filename.textContent = `${file.name} (${(file.size / 1048576).toFixed(1)} MB) is ready.`;
  }

  camera.addEventListener("change", () => { if (camera.files.length) choose(camera.files[0], camera, library); });
  library.addEventListener("change", () => { if (library.files.length) choose(library.files[0], library, camera); });

  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("dropzone-active");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    dropzone.addEventListener(name, () => dropzone.classList.remove("dropzone-active"));
  }
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (!file) return;
    const transfer = new DataTransfer();
    transfer.items.add(file);
    library.files = transfer.files;
    choose(file, library, camera);
  });

  form.addEventListener("submit", (event) => {
    if (!camera.files.length && !library.files.length) {
      event.preventDefault();
      showError("Choose or take a photo first.");
      return;
    }
    // Disabled after the submit has started, so the button's own click still submits the form.
    setTimeout(() => { submit.disabled = true; }, 0);
    form.setAttribute("aria-busy", "true");
    spinner.hidden = false;
  });
  // Coming back with the browser's back button shows the form ready again, not spinning.
  window.addEventListener("pageshow", () => {
    submit.disabled = false;
    form.removeAttribute("aria-busy");
    spinner.hidden = true;
  });
}
