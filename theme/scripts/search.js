// The search page (the one page with [data-search-form]): Pagefind (pagefind.js, its wasm and index) is fetched on the first search.
const searchForm = document.querySelector("[data-search-form]");
if (searchForm) {
  const form = searchForm;
  const $ = (name) => document.querySelector(`[data-search-${name}]`);
  const [status, section, list, more] = ["status", "section", "results", "more"].map($);
  let pagefind, results = [], shown = 0;
  form.hidden = false;
  $("nojs").hidden = true;

  const showMore = async () => {
    const batch = await Promise.all(results.slice(shown, shown + 10).map((r) => r.data()));
    for (const data of batch) {
      const item = document.createElement("li");
      item.className = "nhsuk-card";
      item.innerHTML = '<div class="nhsuk-card__content"><h3 class="nhsuk-heading-s"><a></a></h3><p class="nhsuk-body-s consult-meta"></p><p class="nhsuk-card__description"></p></div>';
      const link = item.querySelector("a");
      const [what, excerpt] = item.querySelectorAll("p");
      link.href = data.url;
      link.textContent = data.meta.title;
      // What the hit is (idea, event, topic, update…), then its status and challenge: the page's own search filters.
      what.textContent = ["type", "status", "challenge"].flatMap((key) => data.filters[key] || []).join(" · ");
      // Our own indexed text, with <mark> around matches: keep only those tags.
      excerpt.innerHTML = data.excerpt.replace(/<(?!\/?mark>)[^>]*>/g, "");
      list.append(item);
    }
    shown += batch.length;
    more.hidden = shown >= results.length;
  };

  const run = async (params) => {
    const query = (params.get("q") || "").trim();
    const filters = {};
    for (const key of ["challenge", "status", "tag"]) if (params.get(key)) filters[key] = params.get(key);
    if (!query && !Object.keys(filters).length) return;
    status.textContent = "Searching…";
    try {
      if (!pagefind) {
        pagefind = await import(form.dataset.pagefind);
        await pagefind.options({ baseUrl: form.dataset.base });
        // A large site's index comes in parts: merge them, fetched side by side.
        const parts = (form.dataset.parts || "").split(" ").filter(Boolean);
        await Promise.all(parts.map((part) => pagefind.mergeIndex(part, { baseUrl: form.dataset.base })));
      }
      results = (await pagefind.search(query || null, { filters })).results;
    } catch {
      status.textContent = "Search is not working at the moment. Browse by challenge, status or tag below.";
      return;
    }
    shown = 0;
    list.replaceChildren();
    section.hidden = false;
    const what = query ? ` for “${query}”` : "";
    const n = results.length;
    status.textContent = n ? `${n} result${n > 1 ? "s" : ""}${what}.` : `No results${what}. Check the spelling or try fewer words.`;
    await showMore();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) params.set(key, value);
    history.replaceState(null, "", `?${params}`);
    run(params);
  });
  more.addEventListener("click", showMore);
  const initial = new URLSearchParams(location.search);
  for (const [key, value] of initial) if (form.elements[key]) form.elements[key].value = value;
  run(initial);
}
