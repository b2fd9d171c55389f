// An idea's page: the support count as the intake has it now (its counts.json) replaces the one from the build.
const supportCount = document.getElementById("support-count");
if (supportCount) fetch(supportCount.dataset.counts).then((r) => r.json()).then(({ ideas }) => {
  const n = ideas[supportCount.dataset.supportIdea] || 0;
  supportCount.textContent = n ? `${n} ${n > 1 ? "people support" : "person supports"} this idea` : "No one has supported this idea yet";
  supportCount.hidden = false;
}).catch(() => {});
