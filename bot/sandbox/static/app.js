// Otklik sandbox page: plain JS, no build. Long-polls /api/state and draws one Telegram-like chat per person.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const TEXTS = window.TEXTS || {}; // the page's words in the sandbox's language (bot/sandbox/page.py)
const t = (key) => TEXTS[key] ?? key;
let state = null;
let clockBase = null; // {epoch, at, speed, tz}
const shownAlerts = new Set();

async function api(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ error: t("no_answer") }));
  if (!response.ok) showError(answer.error || t("error"));
  return answer;
}

function showError(text) {
  const box = $("#error");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => (box.hidden = true), 5000);
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) node[k] = v;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// ----- the clock ---------------------------------------------------------------------------------------------

function drawClock() {
  if (!clockBase) return;
  const now = clockBase.epoch + (Date.now() - clockBase.at) * clockBase.speed;
  const text = new Intl.DateTimeFormat("ru-RU", {
    timeZone: clockBase.tz, weekday: "short", day: "2-digit", month: "2-digit", year: "numeric",
    hour: "2-digit", minute: "2-digit",
  }).format(new Date(now));
  $("#clock").textContent = `${text} (${clockBase.tz})`;
}
setInterval(drawClock, 250);

// ----- drawing -----------------------------------------------------------------------------------------------

function drawHeader(s) {
  $("#organisation").textContent = s.organisation;
  const preset = $("#preset");
  if (preset.options.length !== s.presets.length) {
    preset.replaceChildren(...s.presets.map((p) => el("option", { value: p.name, textContent: p.title })));
  }
  preset.value = s.preset;
  const speed = $("#speed");
  if (![...speed.options].some((o) => Number(o.value) === s.clock.speed)) {
    speed.append(el("option", { value: String(s.clock.speed), textContent: `×${s.clock.speed}` }));
  }
  speed.value = String(s.clock.speed);
  clockBase = { epoch: s.clock.epoch_ms, at: Date.now(), speed: s.clock.speed, tz: s.clock.tz };
  $("#working").textContent = s.clock.working ? t("working") : t("not_working");
  drawClock();
}

function drawGuide(s) {
  const select = $("#scenario");
  if (select.options.length === 1) {
    for (const sc of s.scenarios) select.append(el("option", { value: sc.key, textContent: sc.title }));
  }
  const sc = s.scenario;
  select.value = sc ? sc.key : "";
  $("#scenario-about").textContent = sc ? sc.about : t("choose_scenario");
  $("#steps").replaceChildren(
    ...(sc ? sc.steps.map((text, i) =>
      el("li", { className: i < sc.done ? "done" : i === sc.done ? "current" : "", textContent: text })) : []),
  );
  $("#scenario-done").hidden = !(sc && sc.done >= sc.steps.length);
}

function drawMessage(person, m) {
  const box = el("div", { className: "msg" + (m.mine ? " mine" : "") + (m.deleted ? " deleted" : ""),
    dataset: { id: String(m.id) } });
  if (m.forward) box.append(el("div", { className: "forward", textContent: t("forwarded_from").replace("{channel}", m.forward) }));
  if (m.media) {
    const label = { photo: t("photo"), video: t("video"), document: "📄 " + (m.file_name || t("document")) }[m.media];
    const placeholder = el("div", { className: "media", textContent: label || m.media });
    if (m.media === "photo" && m.file_id) {
      // An uploaded picture shows itself; a stand-in one (no image behind it) stays a placeholder.
      const img = el("img", { className: "photo", src: `/api/file/${encodeURIComponent(m.file_id)}`, alt: t("photo_alt") });
      img.addEventListener("error", () => img.replaceWith(placeholder));
      box.append(img);
    } else {
      box.append(placeholder);
    }
  }
  if (m.text) box.append(el("div", { className: "text", textContent: m.text }));
  const meta = (m.edits ? t("edited") : "") + m.time;
  box.append(el("div", { className: "meta", textContent: meta }));
  if (m.buttons.length && !m.deleted) {
    const kb = el("div", { className: "kb" });
    for (const row of m.buttons) {
      const line = el("div", { className: "row" });
      for (const b of row) {
        if (b.data) {
          line.append(el("button", {
            textContent: b.text,
            onclick: () => api("/api/press", { person, message_id: m.id, data: b.data }),
          }));
        } else {
          line.append(el("a", { textContent: b.text + " ↗", title: b.url || "", href: "#" }));
        }
      }
      kb.append(line);
    }
    box.append(kb);
  }
  return box;
}

function makeChat(p) {
  const text = el("textarea", { placeholder: t("message_placeholder"), rows: 2 });
  const photo = el("input", { type: "checkbox" });
  const file = el("input", { type: "file", accept: "image/jpeg,image/png", className: "file" });
  const image = async () => {
    const chosen = file.files[0];
    if (!chosen) return null;
    const bytes = new Uint8Array(await chosen.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  };
  const clear = () => { text.value = ""; photo.checked = false; file.value = ""; };
  const channel = el("input", { placeholder: t("channel_placeholder"), value: t("channel_default") });
  const fwd = el("div", { className: "fwd", hidden: true }, channel);
  const send = async () => {
    const picture = await image();
    if (!text.value.trim() && !photo.checked && !picture) return;
    const ok = await api("/api/send", { person: p.key, text: text.value, photo: photo.checked, image: picture });
    if (ok.ok) clear();
  };
  const forward = async () => {
    if (fwd.hidden) { fwd.hidden = false; channel.focus(); return; }
    if (!text.value.trim()) { showError(t("paste_post")); return; }
    const ok = await api("/api/forward", { person: p.key, text: text.value, channel: channel.value,
      photo: photo.checked, image: await image() });
    if (ok.ok) { clear(); fwd.hidden = true; }
  };
  text.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) send(); });
  return el("div", { className: "chat", dataset: { person: p.key } },
    el("div", { className: "title" },
      el("div", { className: "name", textContent: p.name }),
      el("div", { className: "role", textContent: p.role + (p.department ? ` · ${p.department}` : "") })),
    el("div", { className: "messages" }),
    el("div", { className: "toasts" }),
    el("div", { className: "compose" }, fwd, text,
      el("div", { className: "bar" },
        el("label", { title: t("stub_photo_hint") }, photo, t("stub_photo")),
        el("label", { className: "attach", title: t("own_picture_hint") }, "📎", file),
        el("button", { className: "forward", textContent: t("forward"), onclick: forward }),
        el("button", { className: "send", textContent: t("send"), onclick: send }))),
  );
}

function drawChats(s) {
  const root = $("#chats");
  const keys = s.people.map((p) => p.key).join(",");
  if (root.dataset.keys !== keys) {
    root.replaceChildren(...s.people.map(makeChat));
    root.dataset.keys = keys;
  }
  for (const p of s.people) {
    const chat = root.querySelector(`.chat[data-person="${p.key}"]`);
    const list = $(".messages", chat);
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...p.messages.map((m) => drawMessage(p.key, m)));
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
  for (const a of s.alerts) {
    if (shownAlerts.has(a.id) || !a.person) continue;
    shownAlerts.add(a.id);
    const chat = root.querySelector(`.chat[data-person="${a.person}"]`);
    if (!chat) continue;
    const toast = el("div", { className: "toast" + (a.show_alert ? " alert" : ""), textContent: a.text });
    $(".toasts", chat).append(toast);
    setTimeout(() => toast.remove(), a.show_alert ? 8000 : 4000);
  }
}

function draw(s) {
  state = s;
  document.body.dataset.key = s.key;
  if (!s.ready) return;
  drawHeader(s);
  drawGuide(s);
  drawChats(s);
}

// ----- controls ----------------------------------------------------------------------------------------------

$("#reset").addEventListener("click", () => {
  if (confirm(t("reset_confirm"))) api("/api/reset", { preset: $("#preset").value });
});
$("#preset").addEventListener("change", () => api("/api/reset", { preset: $("#preset").value }));
$("#speed").addEventListener("change", () => api("/api/clock", { speed: Number($("#speed").value) }));
$("#plus-hour").addEventListener("click", () => api("/api/clock", { advance_minutes: 60 }));
$("#morning").addEventListener("click", () => api("/api/clock", { jump: "morning" }));
$("#scenario").addEventListener("change", () => api("/api/scenario", { scenario: $("#scenario").value }));

async function loop() {
  let since = "";
  for (;;) {
    try {
      const response = await fetch("/api/state" + (since ? `?since=${encodeURIComponent(since)}` : ""));
      const s = await response.json();
      since = s.key;
      draw(s);
    } catch (e) {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
loop();
