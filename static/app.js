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
  document.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Check your connection and try again.", "error");
  });
})();
