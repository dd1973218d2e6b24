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
  // A button with data-copy="#input" copies that field's value and says so for a moment.
  document.addEventListener("click", (ev) => {
    const button = ev.target.closest ? ev.target.closest("[data-copy]") : null;
    if (!button) return;
    const field = document.querySelector(button.dataset.copy);
    if (!field) return;
    const done = () => {
      const label = button.querySelector("span") || button;
      const before = label.textContent;
      label.textContent = button.dataset.copiedText || before;
      setTimeout(() => { label.textContent = before; }, 2000);
    };
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, () => { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
  window.App = { csrfToken, toast };
})();
