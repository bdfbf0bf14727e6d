// The /demo page: the SDK from /demo/sdk.js, sending to this same origin (so no CORS setting is
// needed). Events are listed as the SDK tracks them; their SDK outcome comes from onReport and
// their stored status from GET /api/events/:id, polled until it settles.
export const DEMO_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Event Service: browser SDK demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2330; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; } p.lead { margin: 0 0 1.2rem; color: #5a6273; }
  form, .row { display: flex; gap: .5rem; flex-wrap: wrap; align-items: end; margin-bottom: .8rem; }
  label { display: flex; flex-direction: column; font-size: 12px; color: #5a6273; }
  input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid #c5cad5; border-radius: 4px; }
  button { background: #2f5bd3; color: #fff; border-color: #2f5bd3; cursor: pointer; } button.secondary { background: #fff; color: #2f5bd3; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; } th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6ec; }
  th { font-size: 12px; color: #5a6273; font-weight: 600; } code { font-size: 12px; }
  .s { padding: .1rem .45rem; border-radius: 9px; font-size: 12px; background: #eef0f4; }
  .s.accepted, .s.completed { background: #dcf3e3; color: #13622f; } .s.duplicate { background: #e4ecfb; color: #2446a0; }
  .s.rejected, .s.failed, .s.error { background: #fbe2e2; color: #8a1c1c; } .s.pending, .s.processing, .s.queued { background: #fff3d6; color: #7a5300; }
  #stats { color: #5a6273; font-size: 12px; }
</style></head>
<body>
<h1>Browser SDK demo</h1>
<p class="lead">Events go through the SDK's persistent queue to <code>POST /api/frontend/events</code>; the table shows the batch answer and the status the API reports for each event.</p>
<form id="settings" class="row">
  <label>Write key<input id="key" value="demo" size="24"></label>
  <label>Read token (only when auth is on)<input id="token" placeholder="Bearer token with events:read" size="32"></label>
  <button class="secondary" type="submit">Apply</button>
</form>
<form id="track" class="row">
  <label>Event type<input id="type" value="button_click" size="18"></label>
  <label>Category<select id="category"><option>user_interaction</option><option>business_action</option><option>system_event</option></select></label>
  <label>Data (JSON)<input id="data" value='{"button":"buy"}' size="24"></label>
  <button type="submit">Track</button>
  <button class="secondary" type="button" id="page">page()</button>
  <button class="secondary" type="button" id="bad">Track an invalid event</button>
  <button class="secondary" type="button" id="flush">flush()</button>
</form>
<div id="stats"></div>
<table><thead><tr><th>time</th><th>event id</th><th>type</th><th>SDK</th><th>stored status</th></tr></thead><tbody id="rows"></tbody></table>
<script src="/demo/sdk.js"></script>
<script>
const $ = (id) => document.getElementById(id);
const rows = new Map();
const params = new URLSearchParams(location.search);
if (params.get('write_key')) $('key').value = params.get('write_key');
const badge = (text) => '<span class="s ' + text.split(/[ :]/)[0] + '">' + text + '</span>';

function row(id, type) {
  const tr = document.createElement('tr');
  tr.innerHTML = '<td>' + new Date().toLocaleTimeString() + '</td><td><code>' + id + '</code></td><td></td><td>' + badge('queued') + '</td><td>' + badge('not stored yet') + '</td>';
  tr.children[2].textContent = type;
  $('rows').prepend(tr);
  rows.set(id, tr);
}
const setCell = (id, col, text) => { const tr = rows.get(id); if (tr) tr.children[col].innerHTML = badge(text); };

async function poll(id, tries = 0) {
  const token = $('token').value.trim();
  const res = await fetch('/api/events/' + id, { headers: token ? { authorization: 'Bearer ' + token } : {} }).catch(() => undefined);
  if (res && res.status === 200) {
    const body = await res.json();
    setCell(id, 4, body.status);
    if (body.status === 'completed' || body.status === 'failed' || body.status === 'discarded') return;
  } else if (res && (res.status === 401 || res.status === 403)) {
    return setCell(id, 4, 'error: reading needs an events:read token');
  }
  if (tries < 60) setTimeout(() => poll(id, tries + 1), 500);
}

function onReport(r) {
  if (r.type === 'sent') {
    r.accepted.forEach((id) => { setCell(id, 3, 'accepted'); poll(id); });
    r.duplicates.forEach((id) => { setCell(id, 3, 'duplicate'); poll(id); });
  } else if (r.type === 'rejected') {
    r.events.forEach(({ event, errors }) => {
      setCell(event.event_id, 3, 'rejected: ' + errors.map((e) => e.path + ' ' + e.message).join('; '));
      setCell(event.event_id, 4, 'never stored');
    });
  } else if (r.type === 'retry') {
    $('stats').textContent = 'retrying in ' + r.delayMs + ' ms (' + r.reason + '), ' + r.pending + ' queued';
  } else if (r.type === 'error') {
    $('stats').textContent = r.message;
  }
  showStats();
}

let client;
function start() {
  client = EventService.init({ endpoint: location.origin, writeKey: $('key').value.trim() || 'demo', flushIntervalMs: 1000, onReport });
  showStats();
}
async function showStats() {
  const s = await client.stats();
  $('stats').textContent = 'storage: ' + s.storage + ' · queued: ' + s.queued + ' · accepted: ' + s.accepted + ' · duplicates: ' + s.duplicates + ' · rejected: ' + s.rejected + ' · evicted: ' + s.evicted + ' · retries: ' + s.retries;
}
$('settings').addEventListener('submit', (e) => { e.preventDefault(); start(); });
$('track').addEventListener('submit', (e) => {
  e.preventDefault();
  let data;
  try { data = JSON.parse($('data').value || '{}'); } catch { return alert('Data must be a JSON object'); }
  const type = $('type').value.trim();
  row(client.track(type, data, { category: $('category').value }), type);
});
$('page').addEventListener('click', () => row(client.page(), 'page_view'));
$('bad').addEventListener('click', () => row(client.track('Not.Valid'), 'Not.Valid'));
$('flush').addEventListener('click', () => client.flush().then(showStats));
start();
</script>
</body></html>
`;
