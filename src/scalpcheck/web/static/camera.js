// The upload page's live camera view: a framing guide whose hints measure each frame as the server's quality
// gate does (scalpcheck/quality.py), and a shot that goes into #image-camera as if the photo had been picked.
// Without a camera API, or over plain http, nothing shows and the file picker works as before.
"use strict";

const ANALYSIS_SIDE = 256; // quality.ANALYSIS_SIDE: the measures depend on the scale they are taken at
const CAMERA_CONSTRAINTS = {
  video: { facingMode: { ideal: "environment" }, width: { ideal: 1920 }, height: { ideal: 1080 } },
  audio: false,
};
const LOOK_EVERY_MS = 250;
// Each hint's text is a data attribute of the view, translated by the template.
const HINTS = {
  dark: "hintDark", bright: "hintBright", blurry: "hintBlurry", far: "hintFar", good: "hintGood",
};

document.addEventListener("DOMContentLoaded", () => {
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  findCameraViews();
  // A refused upload comes back as a new page body (app.js swaps <main>): give its camera view a button too.
  new MutationObserver(findCameraViews).observe(document.body, { childList: true, subtree: true });
});

function findCameraViews() {
  for (const panel of document.querySelectorAll("[data-camera]:not([data-camera-ready])")) {
    const form = panel.closest("form");
    if (form && form.querySelector("#image-camera")) setUpCamera(form, panel);
  }
}

function setUpCamera(form, panel) {
  panel.dataset.cameraReady = "";
  const open = form.querySelector("[data-camera-open]");
  const error = form.querySelector("[data-camera-error]");
  const input = form.querySelector("#image-camera");
  const video = panel.querySelector("[data-camera-video]");
  const guide = panel.querySelector("[data-camera-guide]");
  const hint = panel.querySelector("[data-camera-hint]");
  const shoot = panel.querySelector("[data-camera-shoot]");
  const limits = readLimits(panel.dataset);
  const small = document.createElement("canvas");
  let stream = null;
  let timer = null;
  let session = 0; // bumped on every close, so a camera that opens after its view was closed is stopped
  let shown = null;
  let candidate = null;

  function showHint(state) {
    // A new hint must hold for two looks: a live region that flickers between two hints is only noise.
    if (state === shown) return;
    if (shown !== null && state !== candidate) {
      candidate = state;
      return;
    }
    shown = state;
    candidate = null;
    hint.textContent = panel.dataset[HINTS[state]];
    guide.classList.toggle("guide-ok", state === "good");
    guide.classList.toggle("guide-warn", state !== "good");
  }

  function look() {
    if (video.videoWidth && video.readyState >= 2) {
      showHint(judge(measureFrame(video, video.videoWidth, video.videoHeight, small), limits));
    }
    timer = setTimeout(look, LOOK_EVERY_MS);
  }

  async function start() {
    const mine = ++session;
    error.hidden = true;
    shown = candidate = null;
    hint.textContent = panel.dataset.hintStarting;
    guide.classList.remove("guide-ok", "guide-warn");
    open.hidden = true;
    panel.hidden = false;
    panel.scrollIntoView({ block: "nearest" });
    shoot.focus({ preventScroll: true });
    document.addEventListener("keydown", onKey);
    let camera;
    try {
      camera = await navigator.mediaDevices.getUserMedia(CAMERA_CONSTRAINTS);
    } catch {
      if (mine === session) fail();
      return;
    }
    if (mine !== session) {
      stopTracks(camera);
      return;
    }
    stream = camera;
    video.srcObject = stream;
    try {
      await video.play();
    } catch {
      if (mine === session) fail();
      return;
    }
    if (mine === session) look();
  }

  function fail() {
    close();
    error.textContent = panel.dataset.error;
    error.hidden = false;
  }

  function close() {
    if (panel.hidden) return;
    session++;
    clearTimeout(timer);
    stopTracks(stream);
    stream = null;
    video.srcObject = null;
    document.removeEventListener("keydown", onKey);
    panel.hidden = true;
    open.hidden = false;
    open.focus();
  }

  function onKey(event) {
    if (event.key === "Escape") close();
  }

  async function takePhoto() {
    if (!stream || !video.videoWidth) return; // no frame yet
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
    if (!blob || panel.hidden) return; // closed while the JPEG was made
    const transfer = new DataTransfer();
    transfer.items.add(new File([blob], "camera.jpg", { type: "image/jpeg", lastModified: Date.now() }));
    input.files = transfer.files;
    close();
    input.dispatchEvent(new Event("change", { bubbles: true })); // app.js shows the preview
  }

  open.hidden = false;
  open.addEventListener("click", start);
  shoot.addEventListener("click", takePhoto);
  // The view takes the camera's shape, again whenever it changes (a phone turned on its side).
  video.addEventListener("resize", () => {
    if (!video.videoHeight) return;
    panel.style.setProperty("--camera-ratio", String(video.videoWidth / video.videoHeight));
    if (!panel.hidden) panel.scrollIntoView({ block: "nearest" });
  });
  panel.querySelector("[data-camera-close]").addEventListener("click", close);
  form.addEventListener("submit", close);
  form.addEventListener("change", () => { error.hidden = true; }); // a photo was picked after all
  // A camera left on in a hidden page would keep filming: stop it.
  window.addEventListener("pagehide", close);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") close();
  });
}

function stopTracks(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

function readLimits(data) {
  return {
    minBrightness: Number(data.minBrightness),
    maxBrightness: Number(data.maxBrightness),
    minFineDetail: Number(data.minFineDetail),
    minSharpness: Number(data.minSharpness),
    minCoarseDetail: Number(data.minCoarseDetail),
  };
}

// The hint for a frame's measures, first match wins: exposure and blur as quality.problems judges them.
function judge(stats, limits) {
  if (stats.brightness < limits.minBrightness) return "dark";
  if (stats.brightness > limits.maxBrightness) return "bright";
  const blurry = stats.fineDetail < limits.minFineDetail
    && (stats.sharpness < limits.minSharpness || stats.coarseDetail < limits.minCoarseDetail);
  if (blurry) return "blurry";
  // Under twice the gate's floor of coarse detail a frame is nearly featureless; a scalp up close has more.
  if (stats.coarseDetail < 2 * limits.minCoarseDetail) return "far";
  return "good";
}

// quality.measure of a frame (video, image or canvas of width x height), drawn into `canvas` at the analysis
// scale; the browser's smoothed downscale stands in for Pillow's box filter.
function measureFrame(source, width, height, canvas) {
  const scale = Math.min(1, ANALYSIS_SIDE / Math.min(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  if (canvas.width !== w || canvas.height !== h) [canvas.width, canvas.height] = [w, h];
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const grey = new Float32Array(canvas.width * canvas.height);
  for (let i = 0; i < grey.length; i++) {
    const k = 4 * i; // Pillow's RGB to "L" in integers, then 0..1
    grey[i] = ((rgba[k] * 19595 + rgba[k + 1] * 38470 + rgba[k + 2] * 7471 + 0x8000) >> 16) / 255;
  }
  return measureGrey({ data: grey, width: canvas.width, height: canvas.height });
}

function measureGrey(image) {
  let sum = 0;
  for (const value of image.data) sum += value;
  const quarter = halve(halve(image));
  const eighth = halve(quarter);
  const coarse = laplacianVariance(eighth);
  return {
    brightness: sum / image.data.length,
    fineDetail: laplacianVariance(image),
    coarseDetail: coarse,
    sharpness: coarse > 0 ? laplacianVariance(quarter) / coarse : 0,
  };
}

// quality._laplacian_variance: the 4-neighbour Laplacian of the inner pixels, its variance times 1000.
function laplacianVariance({ data, width, height }) {
  if (Math.min(width, height) < 3) return 0;
  const lap = new Float64Array((width - 2) * (height - 2));
  let n = 0;
  let sum = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const value = 4 * data[i] - data[i - width] - data[i + width] - data[i - 1] - data[i + 1];
      lap[n++] = value;
      sum += value;
    }
  }
  const mean = sum / n;
  let squares = 0;
  for (const value of lap) squares += (value - mean) ** 2;
  return (squares / n) * 1000;
}

// quality._halve: 2 x 2 averages, an odd last row or column dropped.
function halve({ data, width, height }) {
  const w = Math.floor(width / 2);
  const h = Math.floor(height / 2);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 2 * y * width + 2 * x;
      out[y * w + x] = (data[i] + data[i + width] + data[i + 1] + data[i + width + 1]) * 0.25;
    }
  }
  return { data: out, width: w, height: h };
}
