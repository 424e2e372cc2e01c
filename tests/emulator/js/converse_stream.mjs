// @aws-sdk/client-bedrock-runtime's ConverseStreamCommand (HTTP/2 to an http:// endpoint) against the stand-in, for
// tests/emulator/test_converse_js_sdk.py. Usage: node converse_stream.mjs <endpoint> <modelId> <messagesJson>.
// Prints one JSON line: the text deltas, the stop reason, the usage (metadata) and the error the SDK threw, if any.
import { BedrockRuntimeClient, ConverseStreamCommand } from "@aws-sdk/client-bedrock-runtime";

const [endpoint, modelId, messages] = process.argv.slice(2);
const client = new BedrockRuntimeClient({
  endpoint,
  region: "ap-northeast-1",
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  maxAttempts: 1,
});
const result = { deltas: [], stopReason: null, usage: null, error: null };
try {
  const response = await client.send(new ConverseStreamCommand({ modelId, messages: JSON.parse(messages) }));
  for await (const event of response.stream) {
    if (event.contentBlockDelta) result.deltas.push(event.contentBlockDelta.delta.text);
    if (event.messageStop) result.stopReason = event.messageStop.stopReason;
    if (event.metadata) result.usage = event.metadata.usage;
  }
} catch (error) {
  result.error = { name: error.name, message: error.message };
}
client.destroy();
console.log(JSON.stringify(result));
