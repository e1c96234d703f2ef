// ThorChat web client: IRC over WebSocket (text.ircv3.net) to the server
// that served this page. Everything a peer sends is rendered with
// textContent, never as markup.

const $ = (id) => document.getElementById(id);
const body = document.body;
const DEFAULT_CHANNELS = (body.dataset.channels || "").split(",").filter(Boolean);
const NETWORK = body.dataset.network || "ThorChat";
const WANT_CAPS = ["message-tags", "server-time", "echo-message", "batch", "labeled-response",
  "draft/chathistory", "draft/read-marker", "draft/event-playback", "away-notify", "account-tag",
  "extended-join", "multi-prefix", "userhost-in-names", "draft/multiline", "standard-replies",
  "account-notify", "chghost", "cap-notify", "draft/message-redaction", "sasl"];
const REACTS = ["👍", "❤️", "😂", "🎉", "👀", "🚀"];
const VOTES = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣"];
const HISTORY_PAGE = 50;

// ---- IRC lines ------------------------------------------------------------

const TAG_UNESCAPE = { ":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n" };

/** parse one IRC line into {tags, source, command, params}. */
export function parseLine(line) {
  const m = { tags: {}, source: "", command: "", params: [] };
  let i = 0;
  if (line[0] === "@") {
    const sp = line.indexOf(" ");
    if (sp < 0) return m;
    for (const kv of line.slice(1, sp).split(";")) {
      if (!kv) continue;
      const eq = kv.indexOf("=");
      const k = eq < 0 ? kv : kv.slice(0, eq);
      const v = eq < 0 ? "" : kv.slice(eq + 1).replace(/\\(.)?/g, (_, c) => (c === undefined ? "" : (TAG_UNESCAPE[c] ?? c)));
      m.tags[k] = v;
    }
    i = sp + 1;
  }
  while (line[i] === " ") i++;
  if (line[i] === ":") {
    const sp = line.indexOf(" ", i);
    if (sp < 0) return m;
    m.source = line.slice(i + 1, sp);
    i = sp + 1;
  }
  const rest = line.slice(i);
  const t = rest.indexOf(" :");
  const head = (t >= 0 ? rest.slice(0, t) : rest).split(" ").filter(Boolean);
  m.command = (head.shift() || "").toUpperCase();
  m.params = head;
  if (t >= 0) m.params.push(rest.slice(t + 2));
  return m;
}

function escapeTag(v) {
  return v.replace(/[\\; \r\n]/g, (c) => ({ "\\": "\\\\", ";": "\\:", " ": "\\s", "\r": "\\r", "\n": "\\n" })[c]);
}

/** format a line; the last param is trailing when it needs to be. */
function formatLine(command, params = [], tags = null) {
  let s = "";
  if (tags) {
    const t = Object.entries(tags).map(([k, v]) => (v === "" ? k : k + "=" + escapeTag(v))).join(";");
    if (t) s = "@" + t + " ";
  }
  s += command;
  params.forEach((p, i) => {
    p = String(p).replace(/[\r\n\0]/g, " ");
    s += (i === params.length - 1 && (p === "" || p.includes(" ") || p[0] === ":")) ? " :" + p : " " + p;
  });
  return s;
}

const nickOf = (source) => source.split("!")[0];
const hostOf = (source) => { const at = source.indexOf("@"); return at < 0 ? "" : source.slice(at + 1); };
const fold = (s) => s.toLowerCase().replace(/[[\]\\~]/g, (c) => ({ "[": "{", "]": "}", "\\": "|", "~": "^" })[c]);
const isChannel = (t) => t && "#&".includes(t[0]);

/** kind of a cloaked host: node-operator, staff, account or guest. */
export function hostKind(host) {
  const k = (host || "").split("/")[0];
  return ["node-operator", "staff", "account", "guest"].includes(k) ? k : "";
}

/** parse the plain-text poll format (docs/clients.md). */
export function parsePoll(text) {
  const m = /^POLL: (.+?)((?: \| [1-9]\) [^|]+){2,9})$/.exec(text);
  if (!m) return null;
  const options = m[2].split(" | ").slice(1).map((o) => o.replace(/^[1-9]\) /, "").trim());
  if (options.some((o, i) => !o) || m[2].split(" | ").slice(1).some((o, i) => !o.startsWith((i + 1) + ") "))) return null;
  return { question: m[1].trim(), options };
}

export function formatPoll(question, options) {
  return "POLL: " + question.replace(/\|/g, "/").trim() + options.map((o, i) => " | " + (i + 1) + ") " + o.replace(/\|/g, "/").trim()).join("");
}

// ---- state ----------------------------------------------------------------

const state = {
  ws: null, registered: false, nick: "", account: "", caps: new Set(), offered: new Map(),
  buffers: new Map(), current: "", isupport: { CHANTYPES: "#", PREFIX: "(ov)@+" },
  batches: new Map(), byMsgid: new Map(), reconnectDelay: 1000, closedByServer: "",
  lastTyping: 0, replyTo: null, mentions: 0, login: null, saslStep: null,
};

function buffer(name) {
  const key = fold(name);
  let b = state.buffers.get(key);
  if (!b) {
    b = { name, key, channel: isChannel(name), messages: [], members: new Map(), topic: "", unread: 0,
      mentions: 0, modes: "", typing: new Map(), joined: false, oldest: null, loadingHistory: false,
      noMoreHistory: false, readMarker: "", newFrom: "", fills: 0 };
    state.buffers.set(key, b);
    renderBufferList();
  }
  return b;
}

// ---- connection -----------------------------------------------------------

function send(command, params = [], tags = null) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(formatLine(command, params, tags));
}

function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  const ws = new WebSocket(url, ["text.ircv3.net"]);
  state.ws = ws;
  state.registered = false;
  state.caps = new Set();
  state.offered = new Map();
  state.closedByServer = "";
  setConn(false);
  ws.onopen = () => {
    state.reconnectDelay = 1000;
    send("CAP", ["LS", "302"]);
    state.nick = state.nick || "guest" + Math.floor(Math.random() * 100000);
    send("NICK", [state.nick]);
    send("USER", ["web", "0", "*", "ThorChat web"]);
  };
  ws.onmessage = (ev) => {
    for (const line of String(ev.data).split(/\r?\n/)) if (line) handleLine(parseLine(line));
  };
  ws.onclose = () => {
    setConn(false);
    const why = state.closedByServer;
    if (/Too many connections over one Tor circuit/i.test(why)) {
      showBanner("This browser already has as many connections to ThorChat as one Tor circuit may carry " +
        "(other tabs of this page). Close another ThorChat tab, then reload this one.", "error");
      return; // retrying would only be refused again
    }
    showBanner((why ? "Disconnected: " + why + ". " : "Disconnected. ") + "Reconnecting…", "error");
    setTimeout(connect, state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 60000);
  };
}

function setConn(up) {
  $("conn-state").classList.toggle("up", up);
  $("conn-state").title = up ? "connected" : "not connected";
}

// ---- SASL -----------------------------------------------------------------

function b64(bytes) { let s = ""; for (const b of bytes) s += String.fromCharCode(b); return btoa(s); }
function unb64(s) { const bin = atob(s); return Uint8Array.from(bin, (c) => c.charCodeAt(0)); }
const utf8 = (s) => new TextEncoder().encode(s);

function authenticatePayload(bytes) {
  const s = b64(bytes);
  for (let i = 0; i < s.length; i += 400) send("AUTHENTICATE", [s.slice(i, i + 400)]);
  if (s.length % 400 === 0) send("AUTHENTICATE", ["+"]);
}

async function saslStep(param) {
  const l = state.login;
  if (!l) return;
  if (l.kind === "token") {
    if (param === "+") authenticatePayload(utf8("\0" + l.account + "\0" + l.token));
    return;
  }
  if (param === "+" && !l.challenged) {
    l.challenged = true;
    authenticatePayload(utf8(l.account));
    return;
  }
  try {
    const challenge = unb64(param);
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, l.keys.privateKey, challenge));
    authenticatePayload(rawToDER(sig));
  } catch (e) {
    send("AUTHENTICATE", ["*"]);
  }
}

/** convert WebCrypto's r‖s (64 bytes) to an ASN.1 DER ECDSA signature. */
export function rawToDER(sig) {
  const int = (b) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    b = b.slice(i);
    if (b[0] & 0x80) b = Uint8Array.of(0, ...b);
    return Uint8Array.of(0x02, b.length, ...b);
  };
  const half = sig.length / 2;
  const r = int(sig.slice(0, half)), s = int(sig.slice(half));
  return Uint8Array.of(0x30, r.length + s.length, ...r, ...s);
}

// ---- message handling -----------------------------------------------------

function handle(m) {
  const h = HANDLERS[m.command];
  if (h) h(m);
  else if (/^[45][0-9]{2}$/.test(m.command)) numericError(m);
}

function capLS(m) {
  const sub = m.params[1];
  if (sub === "LS" || sub === "NEW") {
    const more = m.params[2] === "*";
    for (const c of m.params[more ? 3 : 2].split(" ").filter(Boolean)) {
      const [k, v] = c.split("=");
      state.offered.set(k, v || "");
    }
    if (more) return;
    const req = WANT_CAPS.filter((c) => state.offered.has(c) && !state.caps.has(c) && (c !== "sasl" || state.login));
    if (req.length) send("CAP", ["REQ", req.join(" ")]);
    else if (!state.registered) send("CAP", ["END"]);
  } else if (sub === "ACK") {
    for (const c of m.params[2].split(" ").filter(Boolean)) {
      if (c[0] === "-") state.caps.delete(c.slice(1)); else state.caps.add(c);
    }
    if (state.caps.has("sasl") && state.login && !state.registered) {
      const mech = state.login.kind === "token" ? "PLAIN" : "ECDSA-NIST256P-CHALLENGE";
      state.login.challenged = false;
      send("AUTHENTICATE", [mech]);
    } else if (!state.registered) send("CAP", ["END"]);
  } else if (sub === "NAK") {
    if (!state.registered) send("CAP", ["END"]);
  } else if (sub === "DEL") {
    for (const c of m.params[2].split(" ")) state.caps.delete(c);
  }
}

function saslDone(ok, text) {
  if (!state.registered) send("CAP", ["END"]);
  if (!ok) {
    toast("Login failed: " + text + ". You are a guest; open “Log in” to try again.");
    state.login = null;
  }
}

function welcome(m) {
  state.registered = true;
  state.nick = m.params[0];
  setConn(true);
  hideBanner();
  renderMe();
  const keep = JSON.parse(sessionStorage.getItem("thorchat.channels") || "[]");
  const chans = [...new Set([...DEFAULT_CHANNELS, ...keep])];
  if (chans.length) send("JOIN", [chans.join(",")]);
  if (!state.current && chans[0]) select(chans[0]);
}

function msgTime(m) {
  const t = m.tags.time ? new Date(m.tags.time) : new Date();
  return isNaN(t) ? new Date() : t;
}

function onPrivmsg(m) {
  const from = nickOf(m.source);
  let target = m.params[0];
  let text = m.params[1] || "";
  if (!target) return;
  const mine = fold(from) === fold(state.nick);
  if (target[0] !== "#" && target[0] !== "&" && "@+".includes(target[0])) target = target.slice(1);
  const name = isChannel(target) ? target : (mine ? target : from);
  if (!isChannel(target) && from.includes(".") && !from.includes("!")) {
    // a server notice
    addEvent(state.current || DEFAULT_CHANNELS[0] || name, text, "notice");
    return;
  }
  let kind = m.command === "NOTICE" ? "notice" : "msg";
  const ctcp = /^\x01ACTION (.*?)\x01?$/.exec(text);
  if (ctcp) { kind = "action"; text = ctcp[1]; } else if (text[0] === "\x01") return;
  const b = buffer(name);
  addMessage(b, {
    id: m.tags.msgid || "", from, text, kind, time: msgTime(m), account: m.tags.account || "",
    reply: m.tags["+draft/reply"] || m.tags["+reply"] || "", host: hostOf(m.source), mine,
  }, m.batch);
  b.typing.delete(fold(from));
  renderTyping();
}

function onTagmsg(m) {
  const from = nickOf(m.source);
  const target = m.params[0];
  const name = isChannel(target) ? target : (fold(from) === fold(state.nick) ? target : from);
  const b = buffer(name);
  const typing = m.tags["+typing"];
  if (typing && fold(from) !== fold(state.nick)) {
    if (typing === "done") b.typing.delete(fold(from));
    else b.typing.set(fold(from), { nick: from, until: Date.now() + (typing === "active" ? 6000 : 30000) });
    renderTyping();
  }
  const react = m.tags["+draft/react"], unreact = m.tags["+draft/unreact"], reply = m.tags["+draft/reply"] || m.tags["+reply"];
  if ((react || unreact) && reply) {
    const target = state.byMsgid.get(reply);
    if (!target) return;
    const who = m.tags.account || from;
    const set = target.reacts.get(react || unreact) || new Set();
    if (react) {
      if (target.poll && VOTES.includes(react)) {
        for (const v of VOTES) target.reacts.get(v)?.delete(who); // one vote per account, the latest counts
      }
      set.add(who);
    } else set.delete(who);
    target.reacts.set(react || unreact, set);
    rerenderMessage(target);
  }
}

// addMessage adds a message to b: live at the end, from a history batch
// before what is shown, in the batch's order (messages often share a
// millisecond, so time alone cannot place them).
function addMessage(b, msg, batch) {
  const fromHistory = !!batch;
  msg.reacts = new Map();
  msg.poll = msg.kind === "msg" ? parsePoll(msg.text) : null;
  msg.mention = !msg.mine && msg.kind !== "event" && state.nick && new RegExp("(^|[^\\w])" + state.nick.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "($|[^\\w])", "i").test(msg.text);
  if (msg.id) {
    if (state.byMsgid.has(msg.id)) return; // history overlapping live messages
    state.byMsgid.set(msg.id, msg);
  }
  msg.buffer = b;
  if (fromHistory) {
    let i = b.messages.length;
    if (batch.at !== undefined && batch.atBuffer === b) i = batch.at;
    else while (i > 0 && b.messages[i - 1].time >= msg.time) i--;
    b.messages.splice(i, 0, msg);
    batch.at = i + 1;
    batch.atBuffer = b;
  } else b.messages.push(msg);
  if (b.messages.length > 2000) {
    const drop = b.messages.length - 2000;
    b.messages.splice(0, drop);
    if (batch) batch.at = Math.max(0, batch.at - drop);
  }
  if (!b.oldest || msg.time < b.oldest) b.oldest = msg.time;
  if (!fromHistory && !msg.mine) {
    if (b.key !== fold(state.current) || document.hidden) {
      b.unread++;
      if (msg.mention || !b.channel) {
        b.mentions++;
        state.mentions++;
        toast((b.channel ? b.name + " · " : "") + msg.from + ": " + msg.text, () => select(b.name));
      }
      renderBufferList();
      renderTitle();
    } else markRead(b, msg.time);
  }
  if (b.key === fold(state.current)) {
    if (fromHistory) renderMessages(); else appendMessageEl(msg, true);
  }
}

function addEvent(name, text, kind = "event") {
  const b = buffer(name);
  const msg = { id: "", from: "", text, kind, time: new Date(), reacts: new Map() };
  b.messages.push(msg);
  if (b.key === fold(state.current)) appendMessageEl(msg, true);
}

// ---- channel state --------------------------------------------------------

function member(b, nick) {
  let u = b.members.get(fold(nick));
  if (!u) { u = { nick, prefix: "", host: "", away: false, account: "" }; b.members.set(fold(nick), u); }
  return u;
}

function onJoin(m) {
  const nick = nickOf(m.source);
  const b = buffer(m.params[0]);
  const u = member(b, nick);
  u.host = hostOf(m.source);
  if (state.caps.has("extended-join") && m.params[1] && m.params[1] !== "*") u.account = m.params[1];
  if (fold(nick) === fold(state.nick)) {
    b.joined = true;
    b.members.clear();
    member(b, nick).host = u.host;
    const keep = new Set(JSON.parse(sessionStorage.getItem("thorchat.channels") || "[]"));
    keep.add(b.name);
    sessionStorage.setItem("thorchat.channels", JSON.stringify([...keep]));
    send("MODE", [b.name]);
    send("WHO", [b.name]);
    if (state.caps.has("draft/chathistory") && !b.messages.some((x) => x.id)) {
      send("CHATHISTORY", ["LATEST", b.name, "*", HISTORY_PAGE]);
    }
    if (!state.current) select(b.name);
  } else addEvent(b.name, nick + " joined");
  if (b.key === fold(state.current)) renderMembers();
}

function onPart(m) {
  const nick = nickOf(m.source);
  const b = buffer(m.params[0]);
  b.members.delete(fold(nick));
  if (fold(nick) === fold(state.nick)) {
    b.joined = false;
    const keep = new Set(JSON.parse(sessionStorage.getItem("thorchat.channels") || "[]"));
    keep.delete(b.name);
    sessionStorage.setItem("thorchat.channels", JSON.stringify([...keep]));
  } else addEvent(b.name, nick + " left" + (m.params[1] ? " (" + m.params[1] + ")" : ""));
  if (b.key === fold(state.current)) { renderMembers(); renderComposer(); }
}

function onQuit(m) {
  const nick = nickOf(m.source);
  for (const b of state.buffers.values()) {
    if (b.members.delete(fold(nick))) addEvent(b.name, nick + " quit" + (m.params[0] ? " (" + m.params[0] + ")" : ""));
  }
  renderMembers();
}

function onNick(m) {
  const old = nickOf(m.source), nu = m.params[0];
  if (fold(old) === fold(state.nick)) { state.nick = nu; renderMe(); }
  for (const b of state.buffers.values()) {
    const u = b.members.get(fold(old));
    if (u) { b.members.delete(fold(old)); u.nick = nu; b.members.set(fold(nu), u); addEvent(b.name, old + " is now " + nu); }
  }
  renderMembers();
}

function onKick(m) {
  const b = buffer(m.params[0]);
  b.members.delete(fold(m.params[1]));
  addEvent(b.name, m.params[1] + " was kicked by " + nickOf(m.source) + (m.params[2] ? " (" + m.params[2] + ")" : ""));
  if (fold(m.params[1]) === fold(state.nick)) b.joined = false;
  renderMembers();
  renderComposer();
}

function prefixModes() {
  const m = /^\(([^)]*)\)(.*)$/.exec(state.isupport.PREFIX || "");
  return m ? { modes: m[1], chars: m[2] } : { modes: "ov", chars: "@+" };
}

function onNames(m) {
  const b = buffer(m.params[2]);
  const { chars } = prefixModes();
  for (const item of (m.params[3] || "").split(" ").filter(Boolean)) {
    let i = 0;
    while (i < item.length && chars.includes(item[i])) i++;
    const [nick, rest] = [item.slice(i).split("!")[0], item.slice(i)];
    const u = member(b, nick);
    u.prefix = item.slice(0, i);
    if (rest.includes("@")) u.host = hostOf(rest);
  }
  if (b.key === fold(state.current)) { renderMembers(); renderComposer(); }
}

function onWho(m) {
  // 352 me #chan user host server nick flags :hops realname
  const [, chan, , host, , nick, flags] = m.params;
  for (const b of state.buffers.values()) {
    const u = b.members.get(fold(nick));
    if (!u) continue;
    u.host = host;
    u.away = (flags || "")[0] === "G";
  }
  if (isChannel(chan)) renderMembers();
}

function onAway(m) {
  const nick = nickOf(m.source);
  for (const b of state.buffers.values()) {
    const u = b.members.get(fold(nick));
    if (u) u.away = m.params.length > 0 && m.params[0] !== "";
  }
  if (fold(nick) === fold(state.nick)) renderMe();
  renderMembers();
}

function onMode(m) {
  const target = m.params[0];
  if (!isChannel(target)) return;
  const b = buffer(target);
  const { modes, chars } = prefixModes();
  let add = true, arg = 2;
  const withArg = "beIkl" + modes;
  for (const c of m.params[1] || "") {
    if (c === "+" || c === "-") { add = c === "+"; continue; }
    const idx = modes.indexOf(c);
    const param = withArg.includes(c) && (add || c !== "l") ? m.params[arg++] : null;
    if (idx >= 0 && param) {
      const u = member(b, param);
      const ch = chars[idx];
      u.prefix = add ? (u.prefix.includes(ch) ? u.prefix : chars.split("").filter((x) => x === ch || u.prefix.includes(x)).join("")) : u.prefix.replace(ch, "");
    } else if (c === "m" || c === "n" || c === "t" || c === "s" || c === "i") {
      b.modes = add ? (b.modes.includes(c) ? b.modes : b.modes + c) : b.modes.replace(c, "");
    }
  }
  if (m.command !== "324") addEvent(b.name, nickOf(m.source) + " set mode " + m.params.slice(1).join(" "));
  if (b.key === fold(state.current)) { renderMembers(); renderComposer(); }
}

function onTopic(m, chan, text) {
  const b = buffer(chan);
  b.topic = text;
  if (m.command === "TOPIC") addEvent(b.name, nickOf(m.source) + " set the topic: " + text);
  if (b.key === fold(state.current)) renderHeader();
}

function onBatch(m) {
  const ref = m.params[0];
  if (ref[0] === "+") state.batches.set(ref.slice(1), { type: m.params[1], target: m.params[2] });
  else {
    const batch = state.batches.get(ref.slice(1));
    state.batches.delete(ref.slice(1));
    if (batch && batch.type === "chathistory") {
      const b = buffer(batch.target);
      b.loadingHistory = false;
      if (!batch.count) b.noMoreHistory = true;
      else if (batch.count >= HISTORY_PAGE && b.fills < 4 && b.oldest &&
        b.messages.filter((x) => x.kind !== "event" && x.kind !== "error").length < HISTORY_PAGE) {
        // events (joins, quits) count in a page: fill the screen with messages
        b.fills++;
        b.loadingHistory = true;
        send("CHATHISTORY", ["BEFORE", b.name, historyRef(b), HISTORY_PAGE]);
      }
      if (b.key === fold(state.current)) renderMessages(batch.count ? "keep" : "");
      else recountUnread(b);
    }
  }
}

// onMarkread takes the account's read marker of a buffer: the server's
// answer on JOIN, or a marker another session of the account (or this
// one) set. It only moves forward; the unread count becomes what is after
// it, except in the buffer being read.
function onMarkread(m) {
  const b = buffer(m.params[0]);
  const ts = (m.params[1] || "").replace(/^timestamp=/, "");
  if (!ts || ts === "*" || isNaN(new Date(ts)) || (b.readMarker && b.readMarker >= ts)) return;
  b.readMarker = ts;
  recountUnread(b);
}

// recountUnread sets b's unread count to the messages of others after
// its read marker (none while b is on screen).
function recountUnread(b) {
  if (!b.readMarker) return;
  const t = new Date(b.readMarker);
  const reading = b.key === fold(state.current) && !document.hidden;
  const unread = reading ? 0 : b.messages.filter((x) => x.time > t && !x.mine && x.kind !== "event" && x.kind !== "error" && !x.redacted).length;
  const mentions = Math.min(b.mentions, unread);
  state.mentions -= b.mentions - mentions;
  b.unread = unread;
  b.mentions = mentions;
  renderBufferList();
  renderTitle();
}

// onRedact greys out a message its sender or an operator deleted
// (draft/message-redaction).
function onRedact(m) {
  const msg = state.byMsgid.get(m.params[1] || "");
  if (!msg || (isChannel(m.params[0]) && fold(m.params[0]) !== msg.buffer.key)) return;
  msg.redacted = true;
  msg.text = "";
  msg.poll = null;
  msg.reacts = new Map();
  msg.redactReason = m.params[2] || "";
  rerenderMessage(msg);
  for (const x of msg.buffer.messages) if (x.reply === msg.id) rerenderMessage(x);
}

// historyRef is the reference of b's oldest message for CHATHISTORY
// BEFORE: its msgid (a time would skip messages of the same millisecond).
function historyRef(b) {
  const first = b.messages.find((x) => x.id);
  return first ? "msgid=" + first.id : "timestamp=" + b.oldest.toISOString();
}

function markRead(b, time) {
  if (!state.caps.has("draft/read-marker") || !state.account || !time) return; // guests have no markers
  const ts = time.toISOString();
  if (b.readMarker && b.readMarker >= ts) return;
  b.readMarker = ts;
  send("MARKREAD", [b.name, "timestamp=" + ts]);
}

// Numerics and refusals, said in words.
const REFUSALS = {
  "404": (m) => [m.params[1], "You cannot speak in " + m.params[1] + ": " + (m.params[2] || "")],
  "716": (m) => [m.params[1], m.params[1] + " only accepts messages from people on their accept list (+g). They were told you tried; they can /accept you."],
  "717": (m) => [m.params[1], m.params[1] + " has been told that you tried to message them."],
  "486": (m) => [m.params[1], m.params[1] + " only accepts private messages from logged-in users (+R). Log in with a token or a device key first."],
  "477": (m) => [m.params[1], "You need to be logged in to do that in " + m.params[1] + "."],
  "492": (m) => [m.params[1], m.params[1] + " does not accept CTCPs (+T)."],
  "401": (m) => [m.params[1], "There is no one called " + m.params[1] + " here."],
  "403": (m) => [m.params[1], "No such channel: " + m.params[1]],
  "473": (m) => [m.params[1], m.params[1] + " is invite-only."],
  "474": (m) => [m.params[1], "You are banned from " + m.params[1] + "."],
  "475": (m) => [m.params[1], m.params[1] + " needs a key."],
  "433": (m) => [null, "The nick " + m.params[1] + " is taken."],
  "432": (m) => [null, "“" + m.params[1] + "” is not a valid nick."],
};

function numericError(m) {
  const f = REFUSALS[m.command];
  const [where, text] = f ? f(m) : [null, m.params.slice(1).join(" ")];
  if (m.command === "433" && !state.registered) {
    state.nick = state.nick.slice(0, 20) + Math.floor(Math.random() * 10);
    send("NICK", [state.nick]);
    return;
  }
  const name = where && state.buffers.has(fold(where)) ? where : state.current;
  if (name) addEvent(name, text, "error"); else toast(text);
}

const HANDLERS = {
  PING: (m) => send("PONG", m.params),
  CAP: capLS,
  AUTHENTICATE: (m) => saslStep(m.params[0]),
  "900": (m) => { state.account = m.params[2]; renderMe(); },
  "903": () => saslDone(true),
  "904": (m) => saslDone(false, m.params[1] || "bad credentials"),
  "905": (m) => saslDone(false, m.params[1] || "message too long"),
  "906": (m) => saslDone(false, "aborted"),
  "908": () => {},
  "001": welcome,
  "005": (m) => { for (const t of m.params.slice(1, -1)) { const [k, v] = t.split("="); state.isupport[k] = v ?? true; } },
  "332": (m) => onTopic(m, m.params[1], m.params[2]),
  "331": (m) => onTopic(m, m.params[1], ""),
  TOPIC: (m) => onTopic(m, m.params[0], m.params[1] || ""),
  "353": onNames,
  "352": onWho,
  "324": (m) => { m.params = m.params.slice(1); onMode(m); },
  "320": (m) => addEvent(state.current, m.params[1] + " " + m.params[2], "event"),
  "311": (m) => addEvent(state.current, m.params[1] + " is " + m.params[2] + "@" + m.params[3] + " (" + (m.params[5] || "") + ")"),
  "305": () => { state.away = false; renderMe(); },
  "306": () => { state.away = true; renderMe(); },
  JOIN: onJoin, PART: onPart, QUIT: onQuit, NICK: onNick, KICK: onKick, MODE: onMode, AWAY: onAway,
  PRIVMSG: onPrivmsg, NOTICE: onPrivmsg, TAGMSG: onTagmsg, BATCH: onBatch, MARKREAD: onMarkread, REDACT: onRedact,
  CHGHOST: (m) => { const nick = nickOf(m.source); for (const b of state.buffers.values()) { const u = b.members.get(fold(nick)); if (u) u.host = m.params[1]; } renderMembers(); },
  ACCOUNT: (m) => { if (fold(nickOf(m.source)) === fold(state.nick)) { state.account = m.params[0] === "*" ? "" : m.params[0]; renderMe(); } },
  FAIL: (m) => addEvent(state.current || DEFAULT_CHANNELS[0], m.params.slice(2).join(" "), "error"),
  ERROR: (m) => { state.closedByServer = (m.params[0] || "").replace(/^Closing Link: /, ""); },
};

// a line inside a chathistory batch is history: it goes in time order
// above what is shown
function handleLine(m) {
  const ref = m.tags.batch;
  if (ref && state.batches.has(ref)) {
    const batch = state.batches.get(ref);
    batch.count = (batch.count || 0) + 1;
    m.batch = batch;
    if (batch.type === "chathistory" && HISTORY_EVENTS[m.command]) {
      historyEvent(m, batch);
      return;
    }
  }
  handle(m);
}

// Events from history (draft/event-playback) are shown in time order and
// change nothing: the member list and topic are the live ones.
const HISTORY_EVENTS = {
  JOIN: (m, who) => who + " joined",
  PART: (m, who) => who + " left" + (m.params[1] ? " (" + m.params[1] + ")" : ""),
  QUIT: (m, who) => who + " quit" + (m.params[0] ? " (" + m.params[0] + ")" : ""),
  KICK: (m, who) => m.params[1] + " was kicked by " + who + (m.params[2] ? " (" + m.params[2] + ")" : ""),
  NICK: (m, who) => who + " is now " + m.params[0],
  TOPIC: (m, who) => who + " set the topic: " + (m.params[1] || ""),
  MODE: (m, who) => who + " set mode " + m.params.slice(1).join(" "),
};

function historyEvent(m, batch) {
  const b = buffer(batch.target);
  addMessage(b, { id: m.tags.msgid || "", from: "", kind: "event", time: msgTime(m),
    text: HISTORY_EVENTS[m.command](m, nickOf(m.source)), mine: true }, batch);
}

// ---- rendering (textContent only) ----------------------------------------

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function badge(kind) {
  if (kind === "node-operator") return el("span", "tag node-operator", "node op");
  if (kind === "staff") return el("span", "tag staff", "staff");
  if (kind === "guest") return el("span", "tag guest", "guest");
  return null;
}

function renderTitle() {
  const n = [...state.buffers.values()].reduce((a, b) => a + b.mentions, 0);
  document.title = (n > 0 ? "(" + n + ") " : "") + (state.current ? state.current + " · " : "") + NETWORK;
}

function renderBufferList() {
  for (const [listId, chan] of [["channel-list", true], ["dm-list", false]]) {
    const ul = $(listId);
    ul.replaceChildren();
    for (const b of state.buffers.values()) {
      if (b.channel !== chan) continue;
      const li = el("li", (b.key === fold(state.current) ? "active " : "") + (b.unread ? "unread" : ""));
      li.append(el("span", "hash", chan ? "#" : "@"), el("span", "name", chan ? b.name.slice(1) : b.name));
      if (b.unread) li.append(el("span", "badge-count" + (b.mentions ? "" : " quiet"), String(b.mentions || b.unread)));
      li.addEventListener("click", () => select(b.name));
      ul.append(li);
    }
  }
}

function select(name) {
  const b = buffer(name);
  state.current = b.name;
  state.mentions -= b.mentions;
  // the "new messages" line goes where the account had read to
  b.newFrom = b.unread ? b.readMarker || "" : "";
  b.unread = 0;
  b.mentions = 0;
  const last = b.messages.findLast((x) => x.kind !== "event" && x.kind !== "error");
  if (last) markRead(b, last.time);
  $("app").classList.remove("show-sidebar");
  renderBufferList();
  renderHeader();
  renderMessages();
  renderMembers();
  renderComposer();
  renderTyping();
  renderTitle();
  $("input").focus();
}

function renderHeader() {
  const b = state.current && buffer(state.current);
  $("buffer-title").textContent = b ? b.name : "";
  $("buffer-topic").textContent = b ? b.topic : "";
  $("buffer-topic").title = b ? b.topic : "";
}

function renderMessages(keep) {
  const box = $("messages");
  const b = state.current && buffer(state.current);
  const prevHeight = box.scrollHeight, prevTop = box.scrollTop;
  box.replaceChildren();
  if (!b) return;
  let prev = null;
  const from = b.newFrom ? new Date(b.newFrom) : null;
  let lined = false;
  for (const msg of b.messages) {
    if (from && !lined && msg.time > from && !msg.mine && msg.kind !== "event" && msg.kind !== "error") {
      box.append(el("div", "new-line", "New messages"));
      lined = true;
      prev = null; // the first new message shows who said it
    }
    box.append(messageEl(msg, prev));
    prev = msg;
  }
  if (keep === "keep") box.scrollTop = box.scrollHeight - prevHeight + prevTop;
  else box.scrollTop = box.scrollHeight;
}

function appendMessageEl(msg, scroll) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const list = msg.buffer ? msg.buffer.messages : [];
  box.append(messageEl(msg, list[list.length - 2] || null));
  if (scroll && (atBottom || msg.mine)) box.scrollTop = box.scrollHeight;
}

function rerenderMessage(msg) {
  const old = msg.el;
  if (!old || !old.isConnected) return;
  const list = msg.buffer.messages;
  const fresh = messageEl(msg, list[list.indexOf(msg) - 1] || null);
  old.replaceWith(fresh);
}

function nickColor(nick) {
  let h = 0;
  for (const c of fold(nick)) h = (h * 31 + c.charCodeAt(0)) % 360;
  return "hsl(" + h + ", 60%, 70%)";
}

function messageEl(msg, prev) {
  const first = !prev || prev.from !== msg.from || prev.kind !== msg.kind || msg.reply || msg.time - prev.time > 300000;
  const d = el("div", "msg " + msg.kind + (first ? " first" : "") + (msg.mention ? " mention" : "") + (msg.redacted ? " redacted" : ""));
  msg.el = d;
  if (msg.id) d.dataset.msgid = msg.id;
  d.append(el("span", "time", msg.time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" })));
  if (msg.reply) {
    const orig = state.byMsgid.get(msg.reply);
    const q = el("span", "quote", !orig ? "↪ a message not loaded" : "↪ " + orig.from + ": " + (orig.redacted ? "(deleted)" : orig.text));
    q.addEventListener("click", () => jumpTo(msg.reply));
    d.append(q);
  }
  if (msg.kind === "event" || msg.kind === "error") {
    d.append(el("span", "text", msg.text));
    return d;
  }
  if (first || msg.kind === "action") {
    const n = el("span", "nick", msg.kind === "action" ? "* " + msg.from : msg.from);
    n.style.color = nickColor(msg.from);
    n.addEventListener("click", () => { $("input").value += msg.from + ": "; $("input").focus(); });
    d.append(n);
    const bb = badge(hostKind(msg.host || memberHost(msg.from)));
    if (bb && first) d.append(bb, document.createTextNode(" "));
  }
  if (msg.redacted) {
    d.append(el("span", "text", "message deleted" + (msg.redactReason ? " (" + msg.redactReason + ")" : "")));
    return d;
  }
  if (msg.poll) d.append(pollEl(msg)); else d.append(el("span", "text", msg.text));
  if (msg.reacts.size) {
    const r = el("div", "reacts");
    for (const [emoji, who] of msg.reacts) {
      if (!who.size || (msg.poll && VOTES.includes(emoji))) continue;
      const mine = who.has(state.account || state.nick);
      const btn = el("button", "react" + (mine ? " mine" : ""), emoji + " " + who.size);
      btn.type = "button";
      btn.title = [...who].join(", ");
      btn.addEventListener("click", () => react(msg, emoji, mine));
      r.append(btn);
    }
    d.append(r);
  }
  if (msg.id && state.caps.has("message-tags")) {
    const tools = el("div", "tools");
    const rep = el("button", "", "↩");
    rep.type = "button"; rep.title = "Reply";
    rep.addEventListener("click", () => startReply(msg));
    const add = el("button", "", "☺");
    add.type = "button"; add.title = "React";
    add.addEventListener("click", (ev) => { ev.stopPropagation(); emojiPicker(d, msg); });
    tools.append(rep, add);
    d.append(tools);
  }
  return d;
}

function memberHost(nick) {
  const b = state.current && buffer(state.current);
  return b && b.members.get(fold(nick))?.host || "";
}

function pollEl(msg) {
  const p = el("div", "poll");
  p.append(el("h3", "", "📊 " + msg.poll.question));
  const counts = msg.poll.options.map((_, i) => msg.reacts.get(VOTES[i])?.size || 0);
  const total = counts.reduce((a, b) => a + b, 0);
  msg.poll.options.forEach((o, i) => {
    const mine = msg.reacts.get(VOTES[i])?.has(state.account || state.nick);
    const row = el("div", "poll-option" + (mine ? " mine" : ""));
    row.append(el("span", "", VOTES[i] + " " + o), el("span", "", counts[i] + (counts[i] === 1 ? " vote" : " votes")));
    const bar = el("div", "poll-bar");
    const fill = el("span");
    fill.style.width = (total ? Math.round(100 * counts[i] / total) : 0) + "%";
    bar.append(fill);
    row.append(bar);
    row.title = [...(msg.reacts.get(VOTES[i]) || [])].join(", ");
    row.addEventListener("click", () => vote(msg, i));
    p.append(row);
  });
  return p;
}

function emojiPicker(anchor, msg) {
  document.querySelector(".emoji-picker")?.remove();
  const pick = el("div", "emoji-picker");
  for (const e of REACTS) {
    const b = el("button", "icon-button", e);
    b.type = "button";
    b.addEventListener("click", () => { pick.remove(); react(msg, e, false); });
    pick.append(b);
  }
  anchor.append(pick);
  setTimeout(() => document.addEventListener("click", () => pick.remove(), { once: true }), 0);
}

function react(msg, emoji, undo) {
  if (!state.caps.has("message-tags") || !msg.id) return;
  const target = msg.buffer.name;
  send("TAGMSG", [target], { [undo ? "+draft/unreact" : "+draft/react"]: emoji, "+draft/reply": msg.id });
  if (!state.caps.has("echo-message")) onTagmsg({ source: state.nick, params: [target], tags: { [undo ? "+draft/unreact" : "+draft/react"]: emoji, "+draft/reply": msg.id, account: state.account } });
}

function vote(msg, i) {
  const me = state.account || state.nick;
  const already = msg.reacts.get(VOTES[i])?.has(me);
  react(msg, VOTES[i], already);
}

function jumpTo(msgid) {
  const msg = state.byMsgid.get(msgid);
  if (!msg) { toast("That message is not loaded."); return; }
  if (fold(msg.buffer.name) !== fold(state.current)) select(msg.buffer.name);
  msg.el?.scrollIntoView({ block: "center" });
  msg.el?.classList.add("flash");
}

function startReply(msg) {
  state.replyTo = msg;
  $("reply-text").textContent = "Replying to " + msg.from + ": " + msg.text;
  $("reply-bar").hidden = false;
  $("input").focus();
}

function renderMembers() {
  const b = state.current && buffer(state.current);
  const ul = $("member-list");
  ul.replaceChildren();
  $("members").hidden = !b || !b.channel;
  if (!b || !b.channel) return;
  const { chars } = prefixModes();
  const rank = (u) => {
    const k = hostKind(u.host);
    const p = u.prefix ? chars.indexOf(u.prefix[0]) : chars.length;
    return [k === "node-operator" ? 0 : k === "staff" ? 1 : 2, p, fold(u.nick)];
  };
  const list = [...b.members.values()].sort((x, y) => {
    const a = rank(x), c = rank(y);
    return a[0] - c[0] || a[1] - c[1] || (a[2] < c[2] ? -1 : 1);
  });
  $("member-count").textContent = "Members — " + list.length;
  for (const u of list) {
    const li = el("li", u.away ? "away" : "");
    li.title = (u.away ? "away · " : "") + (u.host || "");
    li.append(el("span", "presence"), el("span", "name", (u.prefix[0] || "") + u.nick));
    const bb = badge(hostKind(u.host));
    if (bb) li.append(bb);
    li.addEventListener("click", () => { if (fold(u.nick) !== fold(state.nick)) select(u.nick); });
    ul.append(li);
  }
}

function renderComposer() {
  const b = state.current && buffer(state.current);
  const note = $("composer-note");
  let why = "";
  if (b && b.channel && b.joined && b.modes.includes("m")) {
    const me = b.members.get(fold(state.nick));
    if (!me || !me.prefix) {
      why = "Only node operators and staff speak in " + b.name + " (moderated, +m). You can read along" +
        (state.account ? "." : "; log in if you are a node operator.");
    }
  }
  note.textContent = why;
  note.hidden = !why;
  $("input").disabled = !!why;
  $("input").placeholder = b ? "Message " + b.name : "Message";
}

function renderTyping() {
  const b = state.current && buffer(state.current);
  const now = Date.now();
  const names = b ? [...b.typing.values()].filter((t) => t.until > now).map((t) => t.nick) : [];
  $("typing").textContent = names.length === 0 ? "" : names.length > 3 ? "Several people are typing…" :
    names.join(", ") + (names.length === 1 ? " is typing…" : " are typing…");
}

function renderMe() {
  $("me-nick").textContent = state.nick + (state.away ? " (away)" : "");
  $("me-kind").textContent = state.account ? state.account : "guest — read along, or log in";
  $("login-button").textContent = state.account ? "Account" : "Log in";
}

function showBanner(text, kind) {
  const b = $("banner");
  b.textContent = text;
  b.className = "banner" + (kind === "info" ? " info" : "");
  b.hidden = false;
}
function hideBanner() { $("banner").hidden = true; }

function toast(text, onclick) {
  const t = el("div", "toast", text.length > 200 ? text.slice(0, 200) + "…" : text);
  t.addEventListener("click", () => { t.remove(); onclick?.(); });
  $("toasts").append(t);
  setTimeout(() => t.remove(), 6000);
}

// ---- composer and commands ------------------------------------------------

function submit(text) {
  if (!text.trim()) return;
  const cur = state.current;
  if (text[0] === "/" && text[1] !== "/") {
    const [cmd, ...rest] = text.slice(1).split(" ");
    const arg = rest.join(" ");
    switch (cmd.toLowerCase()) {
      case "join": case "j": if (rest[0]) { send("JOIN", [rest[0]]); select(rest[0]); } return;
      case "part": case "leave": send("PART", [rest[0] && isChannel(rest[0]) ? rest[0] : cur]); return;
      case "msg": case "query": {
        if (!rest[0]) return;
        select(rest[0]);
        if (rest.length > 1) say(rest[0], rest.slice(1).join(" "));
        return;
      }
      case "me": say(cur, "\x01ACTION " + arg + "\x01"); return;
      case "away": send("AWAY", arg ? [arg] : []); return;
      case "back": send("AWAY"); return;
      case "nick": if (rest[0]) send("NICK", [rest[0]]); return;
      case "topic": send("TOPIC", arg ? [cur, arg] : [cur]); return;
      case "whois": send("WHOIS", [rest[0]]); return;
      case "quote": case "raw": state.ws?.send(arg); return;
      default: addEvent(cur, "Unknown command /" + cmd + ". Try /join, /msg, /me, /away, /nick.", "error"); return;
    }
  }
  if (text.startsWith("//")) text = text.slice(1);
  say(cur, text);
}

function say(target, text) {
  if (!target) return;
  const tags = state.replyTo && state.caps.has("message-tags") ? { "+draft/reply": state.replyTo.id } : null;
  for (const chunk of text.match(/[^]{1,400}/gu) || []) {
    send("PRIVMSG", [target, chunk], tags);
    if (!state.caps.has("echo-message")) {
      onPrivmsg({ source: state.nick, params: [target, chunk], tags: tags || {} });
    }
  }
  cancelReply();
  if (state.caps.has("message-tags")) send("TAGMSG", [target], { "+typing": "done" });
}

function cancelReply() { state.replyTo = null; $("reply-bar").hidden = true; }

function typing() {
  const now = Date.now();
  if (!state.caps.has("message-tags") || now - state.lastTyping < 3000 || !state.current) return;
  if ($("input").value.startsWith("/")) return;
  state.lastTyping = now;
  send("TAGMSG", [state.current], { "+typing": "active" });
}

// ---- login ----------------------------------------------------------------

const DB = "thorchat", STORE = "keys";
function idb() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function idbGet(key) {
  const db = await idb();
  return new Promise((res, rej) => { const q = db.transaction(STORE).objectStore(STORE).get(key); q.onsuccess = () => res(q.result); q.onerror = () => rej(q.error); });
}
async function idbPut(key, v) {
  const db = await idb();
  return new Promise((res, rej) => { const tx = db.transaction(STORE, "readwrite"); tx.objectStore(STORE).put(v, key); tx.oncomplete = res; tx.onerror = () => rej(tx.error); });
}

/** compressed SEC1 point of a raw (uncompressed, 65-byte) P-256 key. */
export function compressPoint(raw) {
  const x = raw.slice(1, 33), y = raw.slice(33, 65);
  return Uint8Array.of(y[31] & 1 ? 3 : 2, ...x);
}

function deviceSupported() { return window.isSecureContext && !!(window.crypto && crypto.subtle) && !!window.indexedDB; }

async function showDevice() {
  const st = $("device-status"), enrol = $("device-enrol");
  enrol.hidden = true;
  if (!deviceSupported()) {
    st.textContent = "This browser does not offer WebCrypto keys on this page (not a secure context, or storage is off). Use a token.";
    $("device-make").disabled = $("device-go").disabled = true;
    return;
  }
  let rec = null;
  try { rec = await idbGet("device"); } catch { /* storage refused */ }
  if (!rec) {
    st.textContent = "No key in this browser yet. Make one, enrol it from a session logged in with your node key, then log in with it.";
    $("device-go").disabled = true;
    return;
  }
  const pub = new Uint8Array(await crypto.subtle.exportKey("raw", rec.keys.publicKey));
  const b64key = b64(compressPoint(pub));
  st.textContent = "This browser holds a key" + (rec.account ? " for " + rec.account : "") + ". Its private half cannot leave the browser. Enrol its public key once, from a session logged in with your node key:";
  enrol.textContent = "/msg NickServ DEVICE ADD browser " + b64key;
  enrol.hidden = false;
  $("device-go").disabled = false;
}

async function makeDevice() {
  const account = $("login-account").value.trim();
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  try { await idbPut("device", { keys, account }); } catch {
    toast("This browser refused to store the key (private browsing?). Use a token.");
    return;
  }
  await showDevice();
}

async function deviceLogin() {
  const rec = await idbGet("device").catch(() => null);
  const account = $("login-account").value.trim() || rec?.account;
  if (!rec || !account) { toast("Enter your account (thor1…) first."); return; }
  if (rec.account !== account) { rec.account = account; await idbPut("device", rec).catch(() => {}); }
  startLogin({ kind: "device", account, keys: rec.keys });
}

function tokenLogin() {
  const account = $("login-account").value.trim(), token = $("login-token").value.trim();
  if (!account || !token.startsWith("thc_")) { toast("Enter your account (thor1…) and a thc_… token."); return; }
  const l = { kind: "token", account, token };
  const store = $("login-remember").checked ? localStorage : sessionStorage;
  (store === localStorage ? sessionStorage : localStorage).removeItem("thorchat.login");
  store.setItem("thorchat.login", JSON.stringify(l));
  startLogin(l);
}

function startLogin(l) {
  state.login = l;
  $("login-dialog").close();
  // SASL happens before registration: reconnect with the credentials
  state.ws.onclose = null;
  state.ws.close();
  connect();
}

function logout() {
  localStorage.removeItem("thorchat.login");
  sessionStorage.removeItem("thorchat.login");
  state.login = null;
  state.account = "";
  $("login-dialog").close();
  state.ws.onclose = null;
  state.ws.close();
  connect();
}

// ---- start ----------------------------------------------------------------

function start() {
  $("app").hidden = false;
  $("network-name").textContent = NETWORK;
  document.title = NETWORK;
  const saved = sessionStorage.getItem("thorchat.login") || localStorage.getItem("thorchat.login");
  if (saved) { try { state.login = JSON.parse(saved); } catch { /* ignore */ } }
  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("input").value;
    $("input").value = "";
    submit(v);
  });
  $("input").addEventListener("input", typing);
  $("input").addEventListener("keydown", (ev) => { if (ev.key === "Escape") cancelReply(); });
  $("reply-cancel").addEventListener("click", cancelReply);
  $("login-button").addEventListener("click", () => {
    $("login-account").value = state.account || state.login?.account || "";
    $("login-dialog").showModal();
    showDevice();
  });
  $("login-token-go").addEventListener("click", (ev) => { ev.preventDefault(); tokenLogin(); });
  $("device-make").addEventListener("click", makeDevice);
  $("device-go").addEventListener("click", deviceLogin);
  $("logout").addEventListener("click", logout);
  $("poll-button").addEventListener("click", () => $("poll-dialog").showModal());
  $("poll-send").addEventListener("click", () => {
    const q = $("poll-question").value.trim();
    const opts = $("poll-options").value.split("\n").map((s) => s.trim()).filter(Boolean).slice(0, 9);
    if (q && opts.length >= 2 && state.current) say(state.current, formatPoll(q, opts));
    $("poll-question").value = $("poll-options").value = "";
  });
  $("toggle-sidebar").addEventListener("click", () => $("app").classList.toggle("show-sidebar"));
  $("toggle-members").addEventListener("click", () => $("app").classList.toggle("show-members"));
  $("messages").addEventListener("scroll", () => {
    const b = state.current && buffer(state.current);
    if (!b || $("messages").scrollTop > 40 || b.loadingHistory || b.noMoreHistory || !state.caps.has("draft/chathistory") || !b.oldest) return;
    b.loadingHistory = true;
    send("CHATHISTORY", ["BEFORE", b.name, historyRef(b), HISTORY_PAGE]);
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.current) select(state.current);
  });
  setInterval(renderTyping, 2000);
  renderMe();
  connect();
}

window.thorchat = { parseLine, parsePoll, formatPoll, rawToDER, compressPoint, hostKind, state };
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
