/* The supervisors' subsidy desk (/desk/subsidies) kept live: a subsidy asked for, decided at a
   level, rejected or paid in the province (subsidy.updated, no personal data in it) reloads
   the list of what waits for my approval and the totals in place: the server decides what
   waits for whom, so the page reads itself again (events close together: once). */
"use strict";
(() => {
  const PARTS = ["subsidies-waiting", "subsidy-totals"];
  let timer = null;
  let started = false;

  async function refresh() {
    let resp;
    try {
      resp = await fetch(window.location.href, { credentials: "same-origin",
                                                 headers: { Accept: "text/html" } });
    } catch (err) { return; }
    if (!resp.ok) return;
    const fresh = new DOMParser().parseFromString(await resp.text(), "text/html");
    for (const part of PARTS) {
      const now = fresh.querySelector(`[data-testid="${part}"] tbody`);
      const here = document.querySelector(`[data-testid="${part}"] tbody`);
      if (now && here) here.replaceWith(document.importNode(now, true));
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  Live.start({
    onState() { if (started) soon(); started = true; },  // a reloaded feed: read again
    onEvent() { soon(); },
  }, ["subsidy.updated"]);
})();
