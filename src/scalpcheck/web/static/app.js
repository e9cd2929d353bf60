// scalpcheck's few enhancements; every page also works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  enhance(document);
  const worker = document.documentElement.dataset.serviceWorker;
  if (worker && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(worker).catch(() => {}); // no worker: the site works as before, online
  }
});

// The page's texts for script messages, in the reader's language (data-text-* on <body>, from the server):
// say("tooLarge", {size: "5.1"}) fills the {size} place.
function say(name, values = {}) {
  const template = document.body.dataset["text" + name[0].toUpperCase() + name.slice(1)] || "";
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

function enhance(root) {
  for (const form of root.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const el of root.querySelectorAll("time[data-local]")) {
    const moment = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(moment.getTime())) {
      const dateOnly = !el.textContent.includes(":");
      const locale = document.documentElement.lang || undefined;
      el.textContent = dateOnly
        ? moment.toLocaleDateString(locale, { day: "numeric", month: "short", year: "numeric" })
        : moment.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
    }
  }
  for (const form of root.querySelectorAll("form[data-upload], form[data-resize-to]")) {
    setUpSending(form, form.matches("[data-upload]") ? setUpUpload(form) : () => true);
  }
}

function showBusy(form, busy) {
  const submit = form.querySelector("[data-submit]");
  const spinner = form.querySelector("[data-spinner]");
  // Disabled after the submit has started, so the button's own click still submits the form.
  if (submit) setTimeout(() => { submit.disabled = busy; }, 0);
  if (busy) form.setAttribute("aria-busy", "true");
  else form.removeAttribute("aria-busy");
  if (spinner) spinner.hidden = !busy;
}

// Coming back with the browser's back button shows the forms ready again, not spinning.
window.addEventListener("pageshow", () => {
  for (const form of document.querySelectorAll("form[aria-busy]")) showBusy(form, false);
});

// Upload form: camera or library input, drag and drop, a preview and a size check. Both inputs are named
// "image"; the one left empty is cleared so only one photo is sent. Returns the check that a photo is chosen.
function setUpUpload(form) {
  const camera = form.querySelector("#image-camera");
  const library = form.querySelector("#image-file");
  const dropzone = form.querySelector("[data-dropzone]");
  const preview = form.querySelector("[data-preview]");
  const hint = form.querySelector("[data-hint]");
  const filename = form.querySelector("[data-filename]");
  const clientError = form.querySelector("[data-client-error]");
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
      showError(say("tooLarge", { size: megabytes(file.size, 1), limit: megabytes(maxBytes, 0) }));
      return;
    }
    showError("");
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
    hint.hidden = true;
    filename.textContent = say("ready", { name: file.name, size: megabytes(file.size, 1) });
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

  return () => {
    if (camera.files.length || library.files.length) return true;
    showError(say("noPhoto"));
    return false;
  };
}

// One submit handler for an upload or visit form, in order: no photo stops it (hasPhoto says why), the busy
// state shows, and the photos go up. A phone's photo is megabytes and the model looks at a few hundred
// pixels: each is scaled down to the longest side the server announces (data-resize-to) and sent with a
// progress bar; one the browser cannot decode or shrink goes up as it is. Without data-resize-to, or
// without XMLHttpRequest, the browser posts the form itself, as it does without JavaScript.
function setUpSending(form, hasPhoto) {
  const longSide = Number(form.dataset.resizeTo || 0);
  form.addEventListener("submit", (event) => {
    if (event.defaultPrevented) return;
    if (!hasPhoto()) {
      event.preventDefault();
      return;
    }
    showBusy(form, true);
    if (!longSide || !window.FormData || !window.XMLHttpRequest) return;
    event.preventDefault();
    sendResized(form, longSide).catch(() => {
      showBusy(form, false);
      const error = form.querySelector("[data-client-error]");
      error.textContent = say("notSent");
      error.hidden = false;
    });
  });
}

async function sendResized(form, longSide) {
  const body = new FormData();
  for (const [name, value] of new FormData(form)) {
    if (value instanceof File && value.size) {
      const smaller = await resizePhoto(value, longSide);
      body.append(name, smaller || value, (smaller || value).name);
    } else {
      body.append(name, value);
    }
  }
  const xhr = await post(form.action, body, (fraction) => showProgress(form, fraction));
  if (xhr.status === 201 && xhr.getResponseHeader("Location")) {
    window.location.assign(xhr.getResponseHeader("Location")); // the result page, fetched once
    return;
  }
  const landed = new URL(xhr.responseURL || form.action);
  if (xhr.status < 400 && landed.pathname !== new URL(form.action).pathname) {
    window.location.assign(landed.href); // the login page, if the session ended
    return;
  }
  const page = xhr.response;
  const main = page && page.querySelector("main");
  if (!main) throw new Error(`unexpected answer ${xhr.status}`);
  // A refusal re-renders the form with its reason: show that page without sending the photo again.
  document.title = page.title;
  const fresh = document.adoptNode(main);
  document.querySelector("main").replaceWith(fresh);
  enhance(fresh);
  (fresh.querySelector("[role=alert]") || fresh).focus();
}

function post(url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest"); // answered 201 + Location on success
    xhr.responseType = "document";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.upload.addEventListener("load", () => onProgress(1));
    xhr.addEventListener("load", () => resolve(xhr));
    xhr.addEventListener("error", () => reject(new Error("network")));
    xhr.addEventListener("timeout", () => reject(new Error("timeout")));
    xhr.send(body);
  });
}

function showProgress(form, fraction) {
  const bar = form.querySelector("[data-progress]");
  const text = form.querySelector("[data-spinner-text]");
  if (!bar || !text) return;
  if (!text.dataset.assessing) text.dataset.assessing = text.textContent;
  bar.hidden = fraction >= 1;
  bar.value = Math.round(fraction * 100);
  text.textContent = fraction >= 1 ? text.dataset.assessing : say("sending", { percent: bar.value });
}

function megabytes(bytes, digits) {
  const value = digits ? bytes / 1048576 : Math.floor(bytes / 1048576);
  return value.toLocaleString(document.documentElement.lang || undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

// The photo as a JPEG whose longest side is `longSide`, upright as its EXIF orientation says (the browser's
// decoder applies it; the canvas drops the EXIF, location included). Null where it cannot or need not shrink.
async function resizePhoto(file, longSide) {
  if (!longSide || !window.createImageBitmap || !file.type.startsWith("image/")) return null;
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return null; // a format this browser cannot decode: the server may still read it
  }
  const scale = longSide / Math.max(bitmap.width, bitmap.height);
  if (scale >= 1) {
    bitmap.close();
    return null;
  }
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  if (!blob || blob.size >= file.size) return null;
  return new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" });
}
