// Post editor: live counters per channel (mirroring platforms.count_text), previews, the channel
// tabs following the channel toggles, and the ordered media lists with the picker and uploads.
// The server stays authoritative: its reasons arrive in #server-check through htmx.
(function (root) {
  "use strict";

  // --- counting: a quick estimate while typing; the server's count (calendar_app/counting.py)
  // replaces it as soon as the check answers for the same text -------------------------------
  const URL_RE = /(?:https?:\/\/|www\.)[^\s<>"']+/gi;
  const EMOJI_RE = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator})/u;
  const X_URL_WEIGHT = 23;
  const X_LIGHT_RANGES = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
  const segmenter = typeof Intl !== "undefined" && Intl.Segmenter
    ? new Intl.Segmenter("und", { granularity: "grapheme" }) : null;
  const utf8 = new TextEncoder();

  function graphemes(text) {
    if (segmenter) return Array.from(segmenter.segment(text), (s) => s.segment);
    return Array.from(text);
  }
  function codePoints(text) { return Array.from(text).length; }

  function xCharWeight(ch) {
    const cp = ch.codePointAt(0);
    return X_LIGHT_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi) ? 1 : 2;
  }
  function countXPlain(text) {
    let total = 0;
    for (const cluster of graphemes(text)) {
      if (EMOJI_RE.test(cluster)) total += 2; // an emoji, even a ZWJ sequence, weighs 2
      else for (const ch of cluster) total += xCharWeight(ch);
    }
    return total;
  }
  function countX(text) {
    text = text.normalize("NFC");
    let total = 0;
    let pos = 0;
    for (const m of text.matchAll(URL_RE)) {
      total += countXPlain(text.slice(pos, m.index)) + X_URL_WEIGHT;
      pos = m.index + m[0].length;
    }
    return total + countXPlain(text.slice(pos));
  }

  function countText(text, counting) {
    switch (counting) {
      case "x_weighted": return countX(text);
      case "url_23": return codePoints(text.replace(URL_RE, "x".repeat(X_URL_WEIGHT)));
      case "graphemes": return graphemes(text).length;
      case "emoji_bytes":
        return graphemes(text).reduce(
          (n, c) => n + (EMOJI_RE.test(c) ? utf8.encode(c).length : codePoints(c)), 0);
      default: return codePoints(text);
    }
  }

  function textLimit(spec, hasMedia) {
    if (hasMedia && spec.captionLimitWithMedia) return spec.captionLimitWithMedia;
    return spec.limit;
  }

  const Counter = { countText, textLimit };
  root.EditorCounter = Counter;
  if (typeof module !== "undefined" && module.exports) { module.exports = Counter; return; }

  // --- the editor page -------------------------------------------------------------------------
  const editor = document.getElementById("post-editor");
  if (!editor) return;
  const form = document.getElementById("post-form");
  const readJSON = (id) => JSON.parse(document.getElementById(id).textContent);
  const specs = readJSON("platform-specs");
  const channels = readJSON("editor-channels");
  const library = new Map(readJSON("editor-library").map((m) => [String(m.id), m]));
  const t = (key) => editor.dataset["i18n" + key] || "";
  const master = form.querySelector("[name=body]");
  const masterTitle = form.querySelector("[name=title]");

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function changed() { form.dispatchEvent(new Event("change", { bubbles: true })); }

  // --- media lists -----------------------------------------------------------------------------
  let pickTarget = null;

  function thumb(asset, cls) {
    if (asset && asset.thumb_url) return el("img", { src: asset.thumb_url, alt: asset.alt || "", class: cls });
    return el("span", { class: cls + " media-thumb-video", title: t("Video") }, [el("i", { class: "bi bi-film" })]);
  }

  function mediaItem(name, asset) {
    const button = (attr, icon, label, extra) => {
      const b = el("button", { type: "button", class: "btn btn-sm btn-light" + (extra || ""), title: label, "aria-label": label }, [el("i", { class: "bi " + icon })]);
      b.setAttribute(attr[0], attr[1]);
      return b;
    };
    return el("li", { class: "media-item", "data-media-id": asset.id }, [
      el("input", { type: "hidden", name: name, value: asset.id }),
      thumb(asset, "media-thumb"),
      el("span", { class: "media-actions" }, [
        button(["data-media-move", "-1"], "bi-arrow-left", t("MoveUp")),
        button(["data-media-move", "1"], "bi-arrow-right", t("MoveDown")),
        button(["data-media-remove", ""], "bi-x-lg", t("Remove"), " text-danger"),
      ]),
    ]);
  }

  function listIds(list) {
    return Array.from(list.querySelectorAll("input[type=hidden]"), (i) => i.value);
  }

  function addToList(list, asset) {
    if (listIds(list).includes(String(asset.id))) return;
    list.querySelector(".media-items").append(mediaItem(list.dataset.name, asset));
    refreshPicker();
    update();
    changed();
  }

  editor.addEventListener("click", (event) => {
    const add = event.target.closest("[data-media-add]");
    if (add) { pickTarget = add.closest("[data-media-list]"); refreshPicker(); return; }
    const item = event.target.closest(".media-item");
    if (!item) return;
    if (event.target.closest("[data-media-remove]")) {
      item.remove();
    } else {
      const move = event.target.closest("[data-media-move]");
      if (!move) return;
      if (move.dataset.mediaMove === "-1" && item.previousElementSibling) {
        item.parentNode.insertBefore(item, item.previousElementSibling);
      } else if (move.dataset.mediaMove === "1" && item.nextElementSibling) {
        item.parentNode.insertBefore(item.nextElementSibling, item);
      }
    }
    refreshPicker();
    update();
    changed();
  });

  // The page embeds the picker's first page only; search and "Load more" fetch the rest as JSON
  // (media_picker) and render it with the markup of calendar_app/media/_picker_item.html.
  const pickerGrid = document.getElementById("media-picker-grid");
  function pickerButton(asset) {
    return el("button", { type: "button", class: "media-pick", "data-pick-id": asset.id, title: asset.name }, [
      asset.thumb_url ? el("img", { src: asset.thumb_url, alt: asset.alt || "", loading: "lazy" })
        : el("span", { class: "media-pick-video" }, [el("i", { class: "bi bi-film" })]),
      el("span", { class: "media-pick-name", text: asset.name }),
    ]);
  }
  function refreshPicker() {
    if (!pickerGrid) return;
    const chosen = pickTarget ? listIds(pickTarget) : [];
    for (const b of pickerGrid.querySelectorAll("[data-pick-id]")) {
      b.classList.toggle("chosen", chosen.includes(b.dataset.pickId));
    }
  }
  if (pickerGrid) {
    pickerGrid.addEventListener("click", (event) => {
      const pick = event.target.closest("[data-pick-id]");
      if (!pick || !pickTarget) return;
      const id = pick.dataset.pickId;
      if (listIds(pickTarget).includes(id)) {
        const item = pickTarget.querySelector(`.media-item[data-media-id="${CSS.escape(id)}"]`);
        if (item) item.remove();
        refreshPicker(); update(); changed();
      } else {
        addToList(pickTarget, library.get(id));
      }
    });
  }

  const pickerSearch = document.getElementById("media-picker-search");
  const pickerMore = document.getElementById("media-picker-more");
  const picker = { query: "", before: pickerMore ? pickerMore.dataset.before : "", request: 0 };

  function showPickerState(hasMore) {
    const empty = !pickerGrid.querySelector("[data-pick-id]");
    document.getElementById("media-picker-empty").classList.toggle("d-none", !empty || picker.query !== "");
    document.getElementById("media-picker-no-match").classList.toggle("d-none", !empty || picker.query === "");
    pickerMore.classList.toggle("d-none", !hasMore);
  }

  function setPickerBusy(busy, fresh) {
    pickerMore.disabled = busy;
    pickerMore.querySelector("[data-idle-icon]").classList.toggle("d-none", busy && !fresh);
    pickerMore.querySelector("[data-busy-icon]").classList.toggle("d-none", !busy || fresh);
    pickerGrid.classList.toggle("loading", busy && fresh);
    pickerGrid.setAttribute("aria-busy", String(busy));
  }

  // Fetch a page: the first one of a (new) search, or the next older one. A newer request wins:
  // the answer of a search the user has typed past is dropped.
  async function loadPicker(fresh) {
    const request = ++picker.request;
    const params = new URLSearchParams();
    if (picker.query) params.set("q", picker.query);
    if (!fresh && picker.before) params.set("before", picker.before);
    setPickerBusy(true, fresh);
    let response, data;
    try {
      response = await fetch(editor.dataset.pickerUrl + "?" + params, { headers: { Accept: "application/json" } });
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (request !== picker.request) return;
    setPickerBusy(false, fresh);
    if (!response || !response.ok || !data || !Array.isArray(data.assets)) {
      App.toast((data && data.error) || t("LoadFailed"), "danger");
      return;
    }
    if (fresh) {
      pickerGrid.replaceChildren();
      pickerGrid.closest(".modal-body").scrollTop = 0; // a new search starts at its top
    }
    for (const asset of data.assets) {
      library.set(String(asset.id), asset);
      if (!pickerGrid.querySelector(`[data-pick-id="${CSS.escape(String(asset.id))}"]`)) {
        pickerGrid.append(pickerButton(asset));
      }
    }
    picker.before = data.next_before == null ? "" : String(data.next_before);
    showPickerState(data.has_more);
    refreshPicker();
  }

  if (pickerSearch && pickerMore) {
    let searchTimer = null;
    const search = () => {
      clearTimeout(searchTimer);
      const query = pickerSearch.value.trim();
      if (query === picker.query) return;
      picker.query = query;
      loadPicker(true);
    };
    pickerSearch.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(search, 250);
    });
    pickerSearch.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); search(); }
    });
    pickerMore.addEventListener("click", () => loadPicker(false));
  }

  const uploadInput = document.getElementById("inline-upload");
  if (uploadInput) {
    uploadInput.addEventListener("change", async () => {
      const status = document.getElementById("inline-upload-status");
      for (const file of Array.from(uploadInput.files)) {
        status.textContent = file.name + " …";
        const body = new FormData();
        body.append("file", file);
        let data = {};
        try {
          const response = await fetch(editor.dataset.uploadUrl, {
            method: "POST", body, headers: { "X-CSRFToken": App.csrfToken(), Accept: "application/json" },
          });
          data = await response.json().catch(() => ({ error: t("UploadFailed") }));
          if (!response.ok && !data.error) data.error = t("UploadFailed");
        } catch (e) {
          data = { error: t("UploadFailed") };
        }
        if (data.error) { App.toast(data.error, "danger"); continue; }
        library.set(String(data.id), data);
        pickerGrid.prepend(pickerButton(data));
        document.getElementById("media-picker-empty").classList.add("d-none");
        document.getElementById("media-picker-no-match").classList.add("d-none");
        if (pickTarget) addToList(pickTarget, data);
      }
      status.textContent = "";
      uploadInput.value = "";
    });
  }

  // --- channels, tabs, counters, previews ------------------------------------------------------
  function selectedChannelIds() {
    return Array.from(form.querySelectorAll("[data-channel-toggle]:checked"), (c) => c.value);
  }

  function syncTabs() {
    const selected = selectedChannelIds();
    let activeVisible = false;
    for (const tab of document.querySelectorAll("[data-variant-tab]")) {
      const on = selected.includes(tab.dataset.variantTab);
      tab.classList.toggle("d-none", !on);
      const button = tab.querySelector(".nav-link");
      if (on && button.classList.contains("active")) activeVisible = true;
      if (!on && button.classList.contains("active")) {
        button.classList.remove("active");
        const pane = document.getElementById("pane-" + tab.dataset.variantTab);
        pane.classList.remove("active", "show");
      }
    }
    if (!activeVisible && selected.length) {
      const first = document.querySelector(`[data-variant-tab="${CSS.escape(selected[0])}"] .nav-link`);
      if (first) bootstrap.Tab.getOrCreateInstance(first).show();
    }
    document.getElementById("no-channels-hint").classList.toggle("d-none", selected.length > 0);
  }

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function richText(text) {
    // Escape first, then turn URLs into links and line breaks into <br>.
    return escapeHtml(text).replace(/(?:https?:\/\/|www\.)[^\s<>"']+/gi, (url) => {
      const raw = url.replace(/&amp;/g, "&");
      const href = /^www\./i.test(raw) ? "https://" + raw : raw;
      return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener nofollow">${url}</a>`;
    }).replace(/\n/g, "<br>");
  }

  function setCounter(node, used, limit) {
    if (!node) return;
    node.textContent = limit == null ? `${used} ${t("Characters")}` : `${used} / ${limit}`;
    const over = limit != null && used > limit;
    node.classList.toggle("text-danger", over);
    node.classList.toggle("fw-semibold", over);
    node.classList.toggle("text-body-secondary", !over);
    return over;
  }

  function renderPreview(pane, channel, spec, text, title, comment, mediaIds) {
    const box = pane.querySelector("[data-preview]");
    const avatar = channel.avatar
      ? el("img", { src: channel.avatar, alt: "", class: "preview-avatar" })
      : el("span", { class: "preview-avatar preview-avatar-icon" }, [el("i", { class: "bi bi-" + spec.icon })]);
    const header = el("div", { class: "d-flex align-items-center gap-2 mb-2" }, [
      avatar,
      el("div", { class: "lh-sm overflow-hidden" }, [
        el("div", { class: "fw-semibold text-truncate", text: channel.name }),
        el("div", { class: "small text-body-secondary text-truncate", text: channel.handle || spec.label }),
      ]),
      el("i", { class: "bi bi-" + spec.icon + " ms-auto text-body-secondary" }),
    ]);
    const body = el("div", { class: "preview-text" });
    if (text.trim()) body.innerHTML = richText(text);
    else body.append(el("span", { class: "text-body-secondary fst-italic", text: t("NoText") }));
    const media = el("div", { class: "preview-media" });
    for (const id of mediaIds) media.append(thumb(library.get(id), "preview-thumb"));
    const parts = [header];
    if (spec.titleLimit != null && title.trim()) parts.push(el("div", { class: "fw-semibold mb-1", text: title }));
    parts.push(body);
    if (mediaIds.length) parts.push(media);
    if (spec.firstComment && comment.trim()) {
      const c = el("div", { class: "preview-comment small" }, [el("span", { class: "text-body-secondary", text: t("FirstComment") + ": " })]);
      const ct = el("span");
      ct.innerHTML = richText(comment);
      c.append(ct);
      parts.push(c);
    }
    box.replaceChildren(el("div", { class: "card-body" }, parts));
  }

  function update() {
    const postMedia = listIds(document.getElementById("media-main"));
    for (const pane of document.querySelectorAll("[data-variant-pane]")) {
      const id = pane.dataset.variantPane;
      const channel = channels[id];
      const spec = specs[channel.platform];
      const override = pane.querySelector("[data-role=body-override]");
      const titleInput = pane.querySelector("[data-role=title-override]");
      const commentInput = pane.querySelector("[data-role=first-comment]");
      const mediaList = pane.querySelector("[data-media-list]");
      override.placeholder = master.value || t("UsesMaster");
      if (titleInput) titleInput.placeholder = masterTitle.value;
      const text = override.value || master.value;
      const title = (titleInput && titleInput.value) || masterTitle.value;
      const overrideMedia = listIds(mediaList);
      const mediaIds = overrideMedia.length ? overrideMedia : postMedia;
      // The server's count once it has counted this very text (calendar_app/counting.py is
      // the rule: twitter-text's links and emoji, Mastodon's mentions...); till then ours.
      const counted = serverCounts[id];
      const used = counted && counted.text === text ? counted.used : countText(text, spec.counting);
      let over = setCounter(pane.querySelector("[data-counter=body]"),
        used, textLimit(spec, mediaIds.length > 0));
      if (spec.titleLimit != null) {
        over = setCounter(pane.querySelector("[data-counter=title]"), codePoints(title), spec.titleLimit) || over;
      }
      const alert = document.querySelector(`[data-variant-tab="${CSS.escape(id)}"] [data-tab-alert]`);
      if (alert) alert.classList.toggle("d-none", !over);
      renderPreview(pane, channel, spec, text, title, commentInput ? commentInput.value : "", mediaIds);
    }
  }

  let serverCounts = {};
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (!event.target || event.target.id !== "server-check") return;
    const data = document.getElementById("server-counts");
    serverCounts = data ? JSON.parse(data.textContent) : {};
    update();
  });

  form.addEventListener("input", update);
  form.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("[data-channel-toggle]")) syncTabs();
    update();
  });
  syncTabs();
  update();
})(typeof window !== "undefined" ? window : globalThis);
