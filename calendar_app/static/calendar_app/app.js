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
  // No inline handlers anywhere (the Content-Security-Policy allows no inline script):
  // a form with data-confirm="question" asks before it is sent;
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);
  // a button with data-check-all="selector" ticks every matching checkbox;
  document.addEventListener("click", (ev) => {
    const button = ev.target.closest ? ev.target.closest("[data-check-all]") : null;
    if (!button) return;
    document.querySelectorAll(button.dataset.checkAll).forEach((box) => {
      box.checked = true;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    });
  });
  // a checkbox with data-mirror="selector" keeps those checkboxes as it is.
  document.addEventListener("change", (ev) => {
    const box = ev.target;
    if (!box.dataset || !box.dataset.mirror) return;
    document.querySelectorAll(box.dataset.mirror).forEach((other) => { other.checked = box.checked; });
  });
  window.App = { csrfToken, toast };
})();
