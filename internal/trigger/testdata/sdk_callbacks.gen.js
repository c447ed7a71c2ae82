'use strict';
// Writes sdk_callbacks.json: seeded random SignalWire callbacks signed by
// SignalWire's own Node SDK (@signalwire/compatibility-api, its webhooks.js
// signer), each checked with the SDK's validateRequest /
// validateRequestWithBody. Run once by hand (not part of the build or the
// tests, which read only the JSON):
//
//   npm install @signalwire/compatibility-api@3.2.0   (in SWSDK, default /tmp/swsdk)
//   node sdk_callbacks.gen.js > sdk_callbacks.json
//
// Format (one case per line): keys[k] (the signing key of projects[k], the
// callback's AccountSid or project_id) signed the callback for each URL in
// bases (HTTP API, REST API with its stage, Function URL; with ":443" after
// the host when p is 1) followed by "?" + q when q is not empty; s holds the
// three signatures in that order. f is a form body as sent (the SDK signs its
// decoded parameters), j a JSON body whose SHA-256 is the bodySHA256 at the
// end of q (the SDK signs the URL alone). e names how q was encoded: the
// encoder, then its modifiers.
const path = require('path');
const sdkDir = process.env.SWSDK || '/tmp/swsdk';
const pkg = path.join(sdkDir, 'node_modules/@signalwire/compatibility-api');
const sdk = require(path.join(pkg, 'lib/webhooks/webhooks.js'));
const version = require(path.join(pkg, 'package.json')).version;

function mulberry32(a) {
  return function () {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(19);
const int = (n) => Math.floor(rnd() * n);
const pick = (a) => a[int(a.length)];
const chance = (p) => rnd() < p;
const hexdig = '0123456789abcdef';
const uuid = () => [8, 4, 4, 4, 12].map((n) => Array.from({ length: n }, () => hexdig[int(16)]).join('')).join('-');
const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const word = (n) => Array.from({ length: n }, () => alnum[int(alnum.length)]).join('');

// The characters common encoders leave unescaped besides ASCII letters and
// digits, and how they write a space and hex digits.
const encoders = {
  go: { safe: '-._~', space: '+' }, // Go url.QueryEscape, Python quote_plus, Ruby CGI.escape
  rfc3986: { safe: '-._~', space: '%20' }, // RFC 3986 unreserved: Python quote, PHP rawurlencode, .NET EscapeDataString
  js: { safe: "-_.!~*'()", space: '%20' }, // JavaScript encodeURIComponent
  form: { safe: '*-._', space: '+' }, // WHATWG URLSearchParams, Java URLEncoder
  php: { safe: '-_.', space: '+' }, // PHP urlencode
  dotnet: { safe: '-_.!*()', space: '+', lower: true }, // .NET HttpUtility.UrlEncode
  typed: { safe: "-._~!$'()*,;:@/?", space: '%20', raw: true }, // typed by hand: RFC 3986 query characters and UTF-8 left raw
};

function encode(s, e) {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9]$/.test(ch) || e.safe.includes(ch)) out += ch;
    else if (ch === ' ') out += e.space;
    else if (e.raw && ch.codePointAt(0) > 0x7f) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) {
      const h = b.toString(16).padStart(2, '0');
      out += '%' + (e.lower ? h : h.toUpperCase());
    }
  }
  return out;
}

// The encoders must be what they claim.
for (const s of ["a b~!*'()ü日🎉/?:@$,;&=+#%", 'x y', '']) {
  if (encode(s, encoders.js) !== encodeURIComponent(s)) throw new Error('js encoder: ' + s);
  if (encode(s, encoders.form) !== new URLSearchParams([['x', s]]).toString().slice(2)) throw new Error('form encoder: ' + s);
}

function encoderFor() {
  const name = pick(Object.keys(encoders));
  const e = { ...encoders[name] };
  const mods = [];
  if (chance(0.25)) { e.lower = !e.lower; mods.push(e.lower ? 'lower' : 'upper'); }
  if (chance(0.25)) { e.raw = !e.raw; mods.push(e.raw ? 'rawutf8' : 'escutf8'); }
  if (chance(0.2)) { e.space = e.space === '+' ? '%20' : '+'; mods.push(e.space === '+' ? 'plus' : 'pct20'); }
  return { e, name: [name, ...mods].join('+') };
}

const nameChoices = ['tag', 'room', 'Room Name', 'team', 'ünï', 'a.b', 'x~y', 'list', 'client_id', 'ref', 'note', 'lang', 'sig!', 'c(1)', 'k*', 'path/to', 'zone', 'Mode'];
const valueChars = [alnum, alnum, alnum, ' ', '-._~', "!*'()", '$,;:@/?', '+&=#%', ['ü', 'é', '日本', '🎉', 'ß', 'Ω']];
function value(maxLen) {
  let s = '';
  for (let n = int(maxLen + 1); n > 0; n--) {
    const set = pick(valueChars);
    s += typeof set === 'string' ? set[int(set.length)] : pick(set);
  }
  return s;
}

// query returns the callback URL's query (without '?') in one encoding, the
// names in a random order, a repeated name's values together.
function query(extra) {
  const { e, name } = encoderFor();
  const names = [];
  const counts = [0, 0, 1, 1, 2, 3, 4, 5, 6, 7];
  for (let n = pick(counts); n > 0; n--) {
    const c = pick(nameChoices);
    if (!names.includes(c)) names.push(c);
  }
  const groups = names.map((n) => (chance(0.1) ? [[n, value(12)], [n, value(6)]] : [[n, value(12)]]));
  if (extra) groups.splice(int(groups.length + 1), 0, [extra]);
  const pairs = groups.flat();
  return { q: pairs.map(([k, v]) => encode(k, e) + '=' + encode(v, e)).join('&'), e: name };
}

const hosts = {
  http: 'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com',
  rest: 'f6g7h8i9j0.execute-api.us-east-1.amazonaws.com',
  furl: 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws',
};
const paths = { http: '/webhooks/signalwire', rest: '/prod/webhooks/signalwire', furl: '/webhooks/signalwire' };
const bases = Object.keys(hosts).map((t) => 'https://' + hosts[t] + paths[t]);
const withPort = (base) => base.replace(/^(https:\/\/[^/]+)/, '$1:443');

const keys = [0, 1, 2].map(() => 'PSK_' + word(32));
const projects = keys.map(() => uuid()); // the AccountSid of keys[k]'s callbacks
// Timestamps fall within half an hour either side of clock.
const clock = Date.UTC(2026, 10, 26, 10, 30, 0);
const when = () => new Date(clock + (int(3600) - 1800) * 1000);
const rfc2822 = (d) => d.toUTCString().replace('GMT', '+0000');

const conferenceEvents = ['conference-start', 'conference-end', 'participant-join', 'participant-leave', 'participant-mute', 'participant-unmute', 'participant-hold', 'participant-unhold', 'participant-speech-start', 'participant-speech-stop'];
const callStatuses = ['initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled'];
const bool = () => pick(['true', 'false']);
const phone = () => '+1' + Array.from({ length: 10 }, () => int(10)).join('');

function conferenceParams(account) {
  const ev = pick(conferenceEvents);
  const p = { AccountSid: account, ConferenceSid: uuid(), FriendlyName: 'room ' + value(10), StatusCallbackEvent: ev, Timestamp: rfc2822(when()), SequenceNumber: String(int(50)) };
  if (ev.startsWith('participant-')) {
    Object.assign(p, { CallSid: uuid(), Muted: bool(), Hold: bool(), EndConferenceOnExit: bool(), StartConferenceOnEnter: bool(), Coaching: bool() });
  }
  if (chance(0.5)) p.ApiVersion = '2010-04-01';
  return p;
}

function callParams(account) {
  const st = pick(callStatuses);
  const p = { AccountSid: account, ApiVersion: '2010-04-01', CallSid: uuid(), CallStatus: st, Direction: pick(['inbound', 'outbound-api']), From: phone(), To: phone(), ParentCallSid: chance(0.5) ? uuid() : '', CallbackSource: 'call-progress-events', SequenceNumber: String(int(20)), Timestamp: rfc2822(when()) };
  if (st === 'completed') p.CallDuration = String(int(600));
  if (chance(0.3)) p.HangupBy = phone();
  return p;
}

function formBody(params) {
  const entries = Object.entries(params).sort(() => rnd() - 0.5);
  if (chance(0.5)) return new URLSearchParams(entries).toString();
  return entries.map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
}

function jsonBody(account) {
  const t = (when().getTime() / 1000 + int(1000) / 1000).toFixed(3);
  const body = {
    event_type: 'calling.call.state', event_channel: 'signalwire_' + uuid(), timestamp: Number(t), project_id: account, space_id: uuid(),
    params: { call_id: uuid(), node_id: uuid() + '@us-east', segment_id: uuid(), call_state: pick(['created', 'ringing', 'answered', 'ending', 'ended']), direction: pick(['inbound', 'outbound']),
      device: { type: 'phone', params: { from_number: phone(), to_number: phone() } }, tag: value(8) },
  };
  return chance(0.3) ? JSON.stringify(body, null, 2) : JSON.stringify(body);
}

function sign(c, params) {
  c.s = bases.map((base) => {
    const u = (c.p ? withPort(base) : base) + (c.q ? '?' + c.q : '');
    const sig = sdk.getExpectedTwilioSignature(keys[c.k], u, params);
    const ok = params === null ? sdk.validateRequestWithBody(keys[c.k], sig, u, c.j) : sdk.validateRequest(keys[c.k], sig, u, params);
    if (!ok) throw new Error('the SDK does not validate its own signature for ' + u);
    return sig;
  });
  return c;
}

const cases = [];
for (let i = 0; i < 360; i++) {
  const c = { k: int(keys.length) };
  if (chance(0.15)) c.p = 1;
  if (i < 296) {
    const params = i < 200 ? conferenceParams(projects[c.k]) : callParams(projects[c.k]);
    const extra = i >= 200 && chance(0.6) ? ['ConferenceSid', uuid()] : null;
    Object.assign(c, query(extra));
    c.kind = i < 200 ? 'conference' : 'call';
    c.f = formBody(params);
    const parsed = Object.fromEntries(new URLSearchParams(c.f));
    if (Object.keys(parsed).length !== Object.keys(params).length || Object.keys(params).some((k) => parsed[k] !== params[k])) throw new Error('form body');
    cases.push(sign(c, params));
  } else {
    c.j = jsonBody(projects[c.k]);
    const digest = require('crypto').createHash('sha256').update(c.j, 'utf8').digest('hex');
    const { q, e } = query(null);
    Object.assign(c, { q: (q ? q + '&' : '') + 'bodySHA256=' + digest, e, kind: 'json' });
    cases.push(sign(c, null));
  }
}

const order = ['kind', 'k', 'p', 'e', 'q', 'f', 'j', 's'];
const line = (c) => JSON.stringify(c, order);
process.stdout.write(
  '{"sdk":' + JSON.stringify('@signalwire/compatibility-api ' + version) + ',"seed":19,"clock":' + JSON.stringify(new Date(clock).toISOString()) +
  ',\n"bases":' + JSON.stringify(bases) + ',\n"keys":' + JSON.stringify(keys) + ',\n"projects":' + JSON.stringify(projects) + ',\n"cases":[\n' + cases.map(line).join(',\n') + '\n]}\n',
);
