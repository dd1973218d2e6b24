// App-wide helpers: toasts and CSRF for fetch().
(function () {
  "use strict";
  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function toast(message, kind) {
    const box = document.getElementById("toasts");
    if (!box) { alert(message); return; }
    const el = document.createElement("div");
    el.className = "toast align-items-center border-0 text-bg-" + (kind || "danger");
    el.setAttribute("role", kind === "danger" ? "alert" : "status");
    el.dataset.testid = "toast";
    const body = document.createElement("div");
    body.className = "d-flex";
    const text = document.createElement("div");
    text.className = "toast-body";
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close btn-close-white me-2 m-auto";
    close.setAttribute("data-bs-dismiss", "toast");
    body.append(text, close);
    el.append(body);
    box.append(el);
    const t = bootstrap.Toast.getOrCreateInstance(el, { delay: 6000 });
    el.addEventListener("hidden.bs.toast", () => el.remove());
    t.show();
  }
  window.App = { csrfToken, toast };
})();
