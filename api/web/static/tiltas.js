// Tiltas web pages: waiting for a worker, the signature pad, dropping a PDF. No framework.
"use strict";

(function waitForWorker() {
  var panel = document.querySelector("[data-poll]");
  if (!panel) return;
  var url = panel.getAttribute("data-poll");
  var version = panel.getAttribute("data-version");
  var status = panel.getAttribute("data-status");
  var tries = 0;
  function reload() {
    window.location.replace(window.location.pathname);
  }
  function ask() {
    tries += 1;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && (String(state.version) !== version || state.status !== status)) {
          reload();
        } else if (tries < 300) {
          window.setTimeout(ask, tries < 20 ? 500 : 2000);
        }
      })
      .catch(function () { if (tries < 300) window.setTimeout(ask, 2000); });
  }
  window.setTimeout(ask, 500);
})();

(function signaturePad() {
  var block = document.querySelector("[data-pad-url]");
  if (!block) return;
  var canvas = block.querySelector("canvas");
  var message = block.querySelector(".pad-message");
  var context = canvas.getContext("2d");
  var drawing = false;
  var strokes = 0;
  var last = null;

  function fitCanvas() {
    var ratio = window.devicePixelRatio || 1;
    var rect = canvas.getBoundingClientRect();
    canvas.width = Math.round(rect.width * ratio);
    canvas.height = Math.round(rect.height * ratio);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    clear();
  }
  function clear() {
    context.save();
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.restore();
    strokes = 0;
    message.textContent = "";
  }
  function point(event) {
    var rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top,
             p: event.pressure > 0 ? event.pressure : 0.5 };
  }
  canvas.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    try { canvas.setPointerCapture(event.pointerId); } catch (ignored) { /* pointer already gone */ }
    drawing = true;
    message.textContent = "";
    last = point(event);
    strokes += 1;
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) return;
    event.preventDefault();
    var next = point(event);
    context.strokeStyle = "#10245c";
    context.lineCap = "round";
    context.lineJoin = "round";
    context.lineWidth = 1.2 + 2.6 * next.p;  // a pen draws finer with a lighter touch
    context.beginPath();
    context.moveTo(last.x, last.y);
    context.lineTo(next.x, next.y);
    context.stroke();
    last = next;
  });
  function stop(event) {
    if (!drawing) return;
    drawing = false;
    try { canvas.releasePointerCapture(event.pointerId); } catch (ignored) { /* already released */ }
  }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);

  block.querySelector("[data-pad-clear]").addEventListener("click", clear);
  block.querySelector("[data-pad-save]").addEventListener("click", function (event) {
    var button = event.currentTarget;
    if (strokes === 0) {
      message.className = "pad-message error";
      message.textContent = "Laukelis tuščias: nuteistasis dar nepasirašė.";
      return;
    }
    button.disabled = true;
    message.className = "pad-message";
    message.textContent = "Išsaugoma…";
    canvas.toBlob(function (blob) {
      var body = new FormData();
      body.append("image", blob, "parasas.png");
      fetch(block.getAttribute("data-pad-url"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": block.getAttribute("data-csrf") }
      })
        .then(function (response) { return response.json().then(function (json) { return { ok: response.ok, json: json }; }); })
        .then(function (result) {
          if (result.ok && result.json.redirect) {
            window.location.assign(result.json.redirect);
          } else {
            button.disabled = false;
            message.className = "pad-message error";
            message.textContent = (result.json && result.json.error) || "Nepavyko išsaugoti parašo.";
          }
        })
        .catch(function () {
          button.disabled = false;
          message.className = "pad-message error";
          message.textContent = "Nepavyko išsaugoti parašo: nėra ryšio.";
        });
    }, "image/png");
  });
  window.addEventListener("resize", function () { if (strokes === 0) fitCanvas(); });
  fitCanvas();
})();

(function dropZone() {
  var zone = document.querySelector("[data-drop-zone]");
  if (!zone) return;
  var input = zone.querySelector("input[type=file]");
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      zone.closest("form").submit();
    }
  });
})();
