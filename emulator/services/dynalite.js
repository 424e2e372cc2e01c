// The local DynamoDB: dynalite (npm, pinned in package.json), in memory, on 127.0.0.1 and a free port.
// Started by emulator/services/dynalite.py, which reads the first stdout line, `listening <port>`.
// Tables change state on the next timer tick (dynalite's default keeps them CREATING or DELETING for half a second),
// still after CreateTable/DeleteTable answer, as DynamoDB's: emulator/services/local.py waits, as CloudFormation does.
// GET /_emulator/requests answers how many requests it has served, by X-Amz-Target: the bench counts a turn's cost.
"use strict";
const http = require("node:http");
const dynalite = require("dynalite");

const served = {};
const dynamodb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }).listeners("request")[0];

const server = http.createServer((request, response) => {
  if (request.method === "GET" && request.url === "/_emulator/requests") {
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(JSON.stringify(served));
    return;
  }
  const target = request.headers["x-amz-target"];
  if (target) served[target] = (served[target] || 0) + 1;
  dynamodb(request, response);
});

server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${server.address().port}\n`));
// The emulator's end is ours: stdin closes when the emulator process exits, however it exits.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
