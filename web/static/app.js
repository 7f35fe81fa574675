"use strict";
// The phone dashboard: live state over server-sent events (read with fetch so the token can ride in a
// header), a 24 h chart from /api/history, and commands that need the API token (kept in localStorage).
(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "cleanroom-token";
  let token = localStorage.getItem(TOKEN_KEY) || "";
  let meta = null, state = null, pending = null, history = null, historyTimer = 0, speedEditedAt = 0;
  let chartKey = document.querySelector("#chart-tabs .on").dataset.key;

  // Keys, units, thresholds, alarms and command ranges come from /api/meta (the server's rows).
  const metric = (key) => (meta && meta.metrics.find((m) => m.key === key)) || { precision: 1, symbol: "", thresholds: {} };
  const setting = (name) => meta && meta.settings.find((s) => s.name === name);
  const alarm = (kind) => meta && meta.alarms.find((a) => a.kind === kind);
  const digits = (p) => ({ minimumFractionDigits: p, maximumFractionDigits: p });
  const num = (key, v) => (v === null || v === undefined ? "–" : v.toLocaleString(undefined, digits(metric(key).precision)));
  const withUnit = (key, v) => (v === null || v === undefined ? "–" : `${num(key, v)} ${metric(key).symbol}`);

  function duration(s) {
    if (s === null || s === undefined || !isFinite(s)) return "–";
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${d} d ${h} h`;
    if (h > 0) return `${h} h ${m} min`;
    return `${m} min`;
  }
  function when(date) {
    return date.toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }
  function until(seconds) {
    if (!state || seconds === null || !isFinite(seconds)) return "";
    return "until " + when(new Date(Date.parse(state.timestamp_utc) + seconds * 1000));
  }

  function headers(json) {
    const h = {};
    if (token) h.Authorization = "Bearer " + token;
    if (json) h["Content-Type"] = "application/json";
    return h;
  }
  function askToken(retry) {
    pending = retry;
    $("token-form").hidden = false;
    $("token-input").focus();
    const how = (meta && meta.token_command) || "cleanroom token";
    $("command-status").textContent = `Enter the API token (on the controller, run: ${how})`;
  }
  async function getJSON(path) {
    const r = await fetch(path, { headers: headers(false) });
    if (r.status === 401) { askToken(null); throw new Error("token needed"); }
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return r.json();
  }
  async function command(path, body, label) {
    if (!token) { askToken(() => command(path, body, label)); return; }
    $("command-status").textContent = `Sending ${label}…`;
    const r = await fetch(path, { method: "POST", headers: headers(true), body: JSON.stringify(body) });
    if (r.status === 401) {
      token = ""; localStorage.removeItem(TOKEN_KEY);
      askToken(() => command(path, body, label));
      return;
    }
    const answer = await r.json().catch(() => ({ message: r.statusText }));
    $("command-status").textContent = r.ok
      ? `${label}: ${answer.accepted ? "done" : "refused"} (${answer.message})`
      : `${label}: ${answer.message || r.status}`;
  }

  function renderAlerts(alerts) {
    const box = $("alerts");
    box.replaceChildren(...alerts.map((a) => {
      const div = document.createElement("div");
      div.className = a.severity;
      div.textContent = a.message;
      const row = alarm(a.kind);
      if (row) div.title = row.label;
      return div;
    }));
  }
  function bar(el, fraction) {
    el.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  }

  // The battery in words: which way the energy flows and how fast ("discharging 4.1 W").
  function batteryFlow(s) {
    if (s.power_w === null) return s.charging ? "charging" : "–";
    const watts = withUnit("power_w", Math.abs(s.power_w));
    if (s.charging || s.power_w > 0) return `charging ${watts}`;
    return `discharging ${watts}`;
  }
  // The estimator in words: "1180 ± 64 Wh in the battery · 100.0 Ah configured · synced at full 2 h ago".
  function energyWords(s) {
    if (s.energy_estimate_wh === null || s.energy_estimate_wh === undefined) return "";
    const sigma = s.energy_uncertainty_wh === null ? "" : ` ± ${num("energy_uncertainty_wh", s.energy_uncertainty_wh)}`;
    const energy = `${num("energy_estimate_wh", s.energy_estimate_wh)}${sigma} Wh in the battery`;
    const capacity = `${withUnit("capacity_ah", s.capacity_ah)} ${s.capacity_source}`;
    const sync = s.last_sync ? `synced at ${s.last_sync} ${duration(s.last_sync_age_s)} ago` : "not synced yet";
    return [energy, capacity, sync].join(" · ");
  }
  // The pressure in words: "positive pressure: 12.0 Pa (floor 5.0 Pa)".
  function pressureWords(s) {
    if (s.pressure_pa === null) return "pressure unknown";
    const sign = s.pressure_pa > 0 ? "positive" : s.pressure_pa < 0 ? "negative" : "no";
    const floor = s.pressure_floor_pa === null ? "no floor" : `floor ${withUnit("pressure_floor_pa", s.pressure_floor_pa)}`;
    const below = s.pressure_floor_pa !== null && s.pressure_pa < s.pressure_floor_pa ? ", below the floor" : "";
    return `${sign} pressure: ${withUnit("pressure_pa", s.pressure_pa)} (${floor}${below})`;
  }
  // A discrete fan by its setting ("setting 2 of 6"): the one a speed command selects (the highest at or
  // below it; a command under the lowest is raised to it), and the one the fan runs now.
  const fanSettings = () => (meta && meta.fan_settings) || [];
  function settingFor(pct) {
    const all = fanSettings();
    const below = all.filter((f) => f.command_pct <= pct + 1e-9);
    return (below.length ? below[below.length - 1] : all[0]).setting;
  }
  const ofAll = (name) => `setting ${name} of ${fanSettings().length}`;
  function speedWords(pct) {
    const speed = setting("speed");
    const shown = `${num("fan_command_pct", pct)} ${speed ? speed.symbol : "%"}`;
    return fanSettings().length ? `${shown} → ${ofAll(settingFor(pct))}` : shown;
  }
  function fanNow(s) {
    if (s.fan_setting && fanSettings().length) return s.fan_setting === "off" ? "off" : ofAll(s.fan_setting);
    return withUnit("fan_command_pct", s.fan_command_pct);
  }
  function render() {
    const s = state;
    if (!s) return;
    $("title").textContent = s.controller_id;
    $("mode").textContent = s.mode;
    for (const b of $("modes").children) b.classList.toggle("on", b.dataset.mode === s.mode);
    $("runtime-plan").textContent = duration(s.runtime_plan_s);
    $("runtime-plan-until").textContent = until(s.runtime_plan_s);
    $("runtime-now").textContent = s.charging ? "charging" : duration(s.runtime_now_s);
    $("runtime-now-until").textContent = s.charging ? "" : until(s.runtime_now_s);
    $("deadline").textContent = s.deadline_utc
      ? `${when(new Date(s.deadline_utc))} ${s.deadline_met === false ? "⚠ at risk" : s.deadline_met ? "✓" : ""}`
      : "none";
    const socRange = setting("soc");
    const socFull = socRange ? socRange.max : 100;
    $("soc").textContent = withUnit("soc_pct", s.soc_pct) + (s.soc_synced ? "" : " ~");
    bar($("soc-bar"), (s.soc_pct || 0) / socFull);
    const socWarning = metric("soc_pct").thresholds.warning;
    $("soc-bar").classList.toggle("low", socWarning !== undefined && (s.soc_pct || 0) <= socWarning);
    $("battery").textContent = `${batteryFlow(s)} · ${withUnit("voltage_v", s.voltage_v)}`;
    $("energy").textContent = energyWords(s);
    $("pressure").textContent = withUnit("pressure_pa", s.pressure_pa);
    const top = Math.max(10, (s.pressure_floor_pa || 0) * 2, s.pressure_pa || 0);
    bar($("pressure-bar"), (s.pressure_pa || 0) / top);
    const below = s.pressure_floor_pa !== null && s.pressure_pa !== null && s.pressure_pa < s.pressure_floor_pa;
    $("pressure-bar").classList.toggle("low", below);
    $("floor-mark").style.left = `${((s.pressure_floor_pa || 0) / top) * 100}%`;
    $("floor").textContent = pressureWords(s);
    const why = s.pressure_hold ? `alarms held: ${s.pressure_hold}` : s.room_condition_reason || "";
    const spread = s.room_c_uncertainty_pct === null || s.room_c_uncertainty_pct === undefined
      ? "" : ` ± ${num("room_c_uncertainty_pct", s.room_c_uncertainty_pct)} %`;
    const curve = s.room_c_cfm === null || s.room_c_cfm === undefined
      ? "" : `room leaks ${withUnit("room_c_cfm", s.room_c_cfm)}${spread} at 1 Pa`;
    $("room").textContent = [why, curve].filter(Boolean).join(" · ");
    $("flow").textContent = withUnit("flow_cfm", s.flow_cfm);
    $("clean-air").textContent = `${withUnit("clean_air_ft3", s.clean_air_ft3)} clean air so far`;
    $("fan").textContent = fanNow(s);
    $("speed-now").textContent = `the fan now: ${fanNow(s)} (${withUnit("fan_command_pct", s.fan_command_pct)}, ${s.mode})`;
    if (Date.now() - speedEditedAt > 15000) {
      $("speed-input").value = s.fan_command_pct;
      $("speed-out").textContent = speedWords(s.fan_command_pct);
    }
    $("fan-detail").textContent = [s.fan_rpm !== null ? withUnit("fan_rpm", s.fan_rpm) : "", s.fan_power_w !== null ? withUnit("fan_power_w", s.fan_power_w) : "", s.fan_status].filter(Boolean).join(" · ");
    renderAlerts(s.alerts);
    $("updated").textContent = "updated " + new Date(s.timestamp_utc).toLocaleTimeString();
  }

  function addEvents(events) {
    const list = $("events");
    for (const e of events) {
      const li = document.createElement("li");
      li.textContent = `${new Date(e.timestamp_utc).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} ${e.message}`;
      list.prepend(li);
    }
    while (list.children.length > 12) list.lastChild.remove();
  }

  function svg(tag, attrs, text) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  }
  function drawChart() {
    const box = $("chart");
    const W = 340, H = 150, L = 34, R = 6, T = 8, B = 20;
    const parts = [svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "ax" })];
    const values = history ? history.series[chartKey] || [] : [];
    const times = history ? history.timestamps_utc.map((t) => Date.parse(t)) : [];
    const finite = values.filter((v) => v !== null);
    if (finite.length < 2) {
      parts.push(svg("text", { x: L + 4, y: H / 2 }, "collecting history…"));
      box.replaceChildren(...parts);
      return;
    }
    const t1 = Date.parse(history.end_utc);
    const t0 = Math.max(Date.parse(history.start_utc), Math.min(...times) - 60000);
    let lo = Math.min(...finite), hi = Math.max(...finite);
    const soc = setting("soc");
    if (soc && soc.state_field === chartKey) { lo = soc.min; hi = soc.max; }
    if (hi - lo < 1e-6) { hi += 1; lo -= 1; }
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    let d = "";
    values.forEach((v, i) => { if (v !== null) d += `${d && values[i - 1] !== null ? "L" : "M"}${x(times[i]).toFixed(1)} ${y(v).toFixed(1)}`; });
    parts.push(svg("path", { d, class: "ln" }));
    if (chartKey === "pressure_pa" && state && state.pressure_floor_pa !== null && state.pressure_floor_pa >= lo && state.pressure_floor_pa <= hi) {
      parts.push(svg("line", { x1: L, x2: W - R, y1: y(state.pressure_floor_pa), y2: y(state.pressure_floor_pa), class: "fl" }));
    }
    const fmt = (v) => v.toFixed(hi - lo < 10 ? 1 : 0);
    const axis = (v) => `${fmt(v)} ${metric(chartKey).symbol}`;
    parts.push(svg("text", { x: 2, y: T + 8 }, axis(hi)), svg("text", { x: 2, y: H - B }, axis(lo)));
    const hm = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    parts.push(svg("text", { x: L, y: H - 4 }, hm(t0)), svg("text", { x: W - R, y: H - 4, "text-anchor": "end" }, hm(t1)));
    box.replaceChildren(...parts);
  }
  async function loadHistory() {
    try {
      const keys = [...$("chart-tabs").children].map((b) => `metrics=${encodeURIComponent(b.dataset.key)}`);
      history = await getJSON(`api/history?${keys.join("&")}`);
      drawChart();
    } catch (err) { history = null; }
    const points = history ? history.timestamps_utc.length : 0;
    clearTimeout(historyTimer);
    historyTimer = setTimeout(loadHistory, points < 2 ? 1000 : points < 10 ? 5000 : 60000);
  }

  async function live() {
    for (;;) {
      try {
        const r = await fetch("api/live", { headers: headers(false), cache: "no-store" });
        if (r.status === 401) { askToken(null); return; }
        if (!r.ok || !r.body) throw new Error(String(r.status));
        $("link").classList.add("on");
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let kind = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) kind = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trim();
            }
            if (!data) continue;
            if (kind === "state") { state = JSON.parse(data); render(); }
            else if (kind === "events") addEvents(JSON.parse(data));
          }
        }
      } catch (err) { /* reconnect below */ }
      $("link").classList.remove("on");
      await new Promise((ok) => setTimeout(ok, 3000));
    }
  }

  async function start() {
    try { meta = await getJSON("api/meta"); } catch (err) { meta = null; }
    const mode = setting("mode");
    $("modes").replaceChildren(...(mode ? mode.options : []).map((m) => {
      const b = document.createElement("button");
      b.type = "button"; b.dataset.mode = m; b.textContent = m;
      b.addEventListener("click", () => command("api/mode", { mode: m }, `mode ${m}`));
      return b;
    }));
    const speed = setting("speed");
    if (speed) {
      Object.assign($("speed-input"), { min: speed.min, max: speed.max, step: speed.step });
      $("speed-out").textContent = speedWords(Number($("speed-input").value));
    }
    const floor = setting("pressure_floor");
    if (floor) {
      Object.assign($("floor-input"), { min: floor.min, max: floor.max, step: floor.step, title: floor.expected });
      $("floor-unit").textContent = floor.symbol;
    }
    const deadline = setting("deadline");
    if (deadline) $("deadline-input").title = deadline.expected;
    try { addEvents((await getJSON("api/events?limit=12")).events); } catch (err) { /* shown live */ }
    live();
    loadHistory();
  }

  $("chart-tabs").addEventListener("click", (e) => {
    const key = e.target.dataset && e.target.dataset.key;
    if (!key) return;
    chartKey = key;
    for (const b of $("chart-tabs").children) b.classList.toggle("on", b.dataset.key === key);
    drawChart();
  });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token-input").value.trim();
    $("token-input").value = "";
    if (!token) return;
    localStorage.setItem(TOKEN_KEY, token);
    $("token-form").hidden = true;
    $("command-status").textContent = "";
    const retry = pending; pending = null;
    if (retry) retry(); else if (!state) start();
  });
  $("forget").addEventListener("click", (e) => {
    e.preventDefault(); token = ""; localStorage.removeItem(TOKEN_KEY);
    $("command-status").textContent = "token forgotten";
  });
  $("deadline-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("deadline-input").value.trim();
    if (value) command("api/commands/deadline", { value }, "deadline");
  });
  $("deadline-clear").addEventListener("click", () => command("api/commands/deadline", { value: "none" }, "deadline"));
  $("speed-input").addEventListener("input", () => {
    speedEditedAt = Date.now();
    $("speed-out").textContent = speedWords(Number($("speed-input").value));
  });
  $("floor-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("floor-input").value.trim();
    if (value) command("api/commands/pressure_floor", { value: Number(value) }, "floor");
  });
  $("speed-form").addEventListener("submit", (e) => {
    e.preventDefault();
    command("api/commands/speed", { value: Number($("speed-input").value) }, "speed");
  });
  start();
})();
