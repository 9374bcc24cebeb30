#!/usr/bin/env node
// Prints where a V8 CPU profile (node --cpu-prof) spent its time: self time
// by function, the heaviest first. Usage: profile-summary.cjs file.cpuprofile [top]
"use strict";
const fs = require("node:fs");
const [file, top = "30"] = process.argv.slice(2);
const profile = JSON.parse(fs.readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map();
const interval = (profile.endTime - profile.startTime) / profile.samples.length;
for (const id of profile.samples) {
  const { callFrame } = byId.get(id);
  const where = `${callFrame.functionName || "(anonymous)"} ${callFrame.url.replace(/.*node_modules\//, "").replace(/.*\/dist\//, "dist/")}:${callFrame.lineNumber + 1}`;
  self.set(where, (self.get(where) ?? 0) + interval);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [where, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${where}`);
}
