// Calendar drag and drop: move chips between days, hour slots and the ideas sidebar.
// The server decides (POST reschedule/unschedule); on refusal the chip goes back with a toast.
(function () {
  "use strict";

  document.querySelectorAll("form.cal-filters select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });

  const root = document.querySelector("[data-cal]");
  if (!root) return;
  const prefix = root.dataset.postPrefix;
  const perDay = parseInt(root.dataset.chipsPerDay || "0", 10);
  let drag = null;

  const pad = (n) => String(n).padStart(2, "0");
  const zoneOf = (el) => (el && el.closest ? el.closest("[data-drop]") : null);
  const chipsOf = (zone) => zone.querySelector(".cal-chips");

  function clearHighlight() {
    root.querySelectorAll(".is-drop-target").forEach((el) => el.classList.remove("is-drop-target"));
  }

  // Keep a cell's chips in time order and its "+N more" button right.
  function refresh(zone) {
    if (!zone) return;
    const box = chipsOf(zone);
    const chips = Array.from(box.querySelectorAll(":scope > .cal-chip"));
    chips.sort((a, b) => (a.dataset.time || "").localeCompare(b.dataset.time || ""));
    if (zone.dataset.drop !== "ideas") chips.forEach((c) => box.insertBefore(c, box.querySelector(".cal-empty")));
    const more = zone.querySelector(".cal-more");
    if (!more || !perDay) return;
    const hidden = chips.length - perDay;
    if (hidden <= 0) zone.classList.remove("is-expanded");
    more.hidden = hidden <= 0;
    more.textContent = zone.classList.contains("is-expanded")
      ? root.dataset.lessLabel
      : root.dataset.moreTemplate.replace("%(count)s", hidden);
  }

  function updateIdeasCount(delta) {
    const badge = root.querySelector("[data-testid=ideas-count]");
    if (badge) badge.textContent = Math.max(0, parseInt(badge.textContent, 10) + delta);
  }

  function place(chip, zone) {
    const box = chipsOf(zone);
    if (zone.dataset.drop === "ideas") box.prepend(chip);
    else box.appendChild(chip);
  }

  async function move(state, zone) {
    const chip = state.chip;
    const id = chip.dataset.postId;
    const toIdeas = zone.dataset.drop === "ideas";
    const wasIdea = !chip.dataset.date;
    const body = new URLSearchParams({ version: chip.dataset.version });
    let url;
    if (toIdeas) {
      if (wasIdea) return;
      url = prefix + id + "/unschedule/";
    } else {
      url = prefix + id + "/reschedule/";
      body.set("date", zone.dataset.date);
      if (zone.dataset.hour !== undefined) {
        body.set("time", pad(zone.dataset.hour) + ":" + pad(chip.dataset.minute || 0));
        if (zone.dataset.date === chip.dataset.date && chip.dataset.time.slice(0, 2) === pad(zone.dataset.hour)) return;
      } else if (zone.dataset.date === chip.dataset.date) {
        return;
      }
    }
    const fromZone = zoneOf(state.from);
    place(chip, zone);
    chip.classList.add("is-saving");
    let data = null;
    let ok = false;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "X-CSRFToken": App.csrfToken(), "X-Requested-With": "XMLHttpRequest" },
        body: body,
        credentials: "same-origin",
      });
      data = await res.json().catch(() => null);
      ok = res.ok && data !== null && data.ok === true;
    } catch (err) {
      data = null;
    }
    chip.classList.remove("is-saving");
    if (!ok) {
      const next = state.next && state.next.parentNode === state.from ? state.next : null;
      state.from.insertBefore(chip, next);
      refresh(zone);
      refresh(fromZone);
      App.toast((data && data.error) || root.dataset.errorGeneric, "danger");
      return;
    }
    chip.dataset.version = data.version;
    if (data.notice) App.toast(data.notice, "warning");
    chip.dataset.date = data.date || "";
    chip.dataset.time = data.time || "";
    chip.dataset.minute = data.time ? String(parseInt(data.time.slice(3), 10)) : "0";
    const time = chip.querySelector(".cal-chip-time");
    if (time) time.textContent = data.time || "";
    if (toIdeas) updateIdeasCount(1);
    else if (wasIdea) updateIdeasCount(-1);
    refresh(zone);
    refresh(fromZone);
    root.dispatchEvent(new CustomEvent("cal:moved", { detail: data }));
  }

  root.addEventListener("dragstart", (ev) => {
    const chip = ev.target.closest ? ev.target.closest('.cal-chip[draggable="true"]') : null;
    if (!chip || chip.classList.contains("is-saving")) return;
    drag = { chip: chip, from: chip.parentElement, next: chip.nextSibling };
    ev.dataTransfer.effectAllowed = "move";
    ev.dataTransfer.setData("text/plain", chip.dataset.postId);
    requestAnimationFrame(() => chip.classList.add("is-dragging"));
  });

  root.addEventListener("dragend", () => {
    if (drag) drag.chip.classList.remove("is-dragging");
    drag = null;
    clearHighlight();
  });

  root.addEventListener("dragover", (ev) => {
    if (!drag) return;
    const zone = zoneOf(ev.target);
    if (!zone) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "move";
    if (!zone.classList.contains("is-drop-target")) {
      clearHighlight();
      zone.classList.add("is-drop-target");
    }
  });

  root.addEventListener("dragleave", (ev) => {
    const zone = zoneOf(ev.target);
    if (zone && !zone.contains(ev.relatedTarget)) zone.classList.remove("is-drop-target");
  });

  root.addEventListener("drop", (ev) => {
    if (!drag) return;
    const zone = zoneOf(ev.target);
    if (!zone) return;
    ev.preventDefault();
    const state = drag;
    drag = null;
    state.chip.classList.remove("is-dragging");
    clearHighlight();
    move(state, zone);
  });

  // "+N more" expands a day; a click on the empty part of a day opens a new post on it.
  root.addEventListener("click", (ev) => {
    const more = ev.target.closest(".cal-more");
    if (more) {
      const zone = zoneOf(more);
      zone.classList.toggle("is-expanded");
      refresh(zone);
      return;
    }
    if (ev.target.closest("a, button, .cal-chip")) return;
    const cell = ev.target.closest("[data-create-url]");
    if (cell) window.location.href = cell.dataset.createUrl;
  });

  // The week view opens at 07:00.
  const scroller = root.querySelector("[data-scroll-hour]");
  if (scroller) {
    const row = scroller.querySelector('[data-hour-row="' + scroller.dataset.scrollHour + '"]');
    if (row) scroller.scrollTop = row.offsetTop;
  }
})();
