// Small glue for htmx: CSRF header on every request, toasts for success events and error responses.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box) { return; }
    var div = document.createElement("div");
    div.className = "toast toast-" + (kind || "success");
    div.setAttribute("role", kind === "error" ? "alert" : "status");
    div.textContent = message;
    box.appendChild(div);
    setTimeout(function () { div.remove(); }, kind === "error" ? 12000 : 6000);
  }
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["x-csrftoken"] = csrfToken();
  });
  document.addEventListener("toast", function (evt) {
    toast(evt.detail.message || evt.detail.value, "success");
  });
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var text = "The request failed (" + xhr.status + ").";
    var holder = document.createElement("div");
    holder.innerHTML = xhr.responseText || "";
    var fragment = holder.querySelector(".toast");
    if (fragment) { text = fragment.textContent; }
    else if ((xhr.getResponseHeader("content-type") || "").indexOf("json") >= 0) {
      try { text = JSON.parse(xhr.responseText).detail || text; } catch (e) { /* keep the generic text */ }
    }
    toast(text, "error");
  });
  // An inline check may refresh another field's message out of band (the hours when the ECTS change): keep that
  // field's aria-invalid and error styling in step with whether the message says anything.
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var message = evt.target;
    if (!message.classList || !message.classList.contains("field-error") || message.id.indexOf("e-") !== 0) { return; }
    var name = message.id.slice(2);
    var invalid = message.textContent.trim() !== "";
    var input = document.getElementById("f-" + name);
    if (input) {
      if (invalid) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    }
    var field = document.getElementById("field-" + name);
    if (field) { field.classList.toggle("has-error", invalid); }
  });
  // Confirmations: the opener shows its <dialog> as a modal instead of reloading the page with it open
  // ("?confirm=<id>", what happens without JavaScript); "Cancel" closes it.
  document.addEventListener("click", function (evt) {
    var target = evt.target instanceof Element ? evt.target : null;
    if (!target) { return; }
    var opener = target.closest("[data-confirm]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-confirm"));
      if (dialog && typeof dialog.showModal === "function") {
        evt.preventDefault();
        if (dialog.open) { dialog.close(); }
        dialog.showModal();
      }
      return;
    }
    var closer = target.closest("[data-close-dialog]");
    var open = closer ? closer.closest("dialog") : null;
    if (open && typeof open.close === "function") {
      evt.preventDefault();
      open.close();
    }
  });
  document.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Check your connection and try again.", "error");
  });
})();
