// @aws-sdk/client-bedrock-runtime's default client (HTTP/2 to an http:// endpoint) against the stand-in, for
// tests/e2e/test_bedrock_js_sdk.py. Usage: node bedrock_stream.mjs <endpoint> <modelId> <prompt> [maxAttempts]
// [leaveAfter]. Prints one JSON line: the request handler's name, the text deltas received (leaving the stream
// after `leaveAfter` of them, if given) and the error the SDK threw, if any.
import { BedrockRuntimeClient, InvokeModelWithResponseStreamCommand } from "@aws-sdk/client-bedrock-runtime";

const [endpoint, modelId, prompt, maxAttempts = "3", leaveAfter = "-1"] = process.argv.slice(2);
const client = new BedrockRuntimeClient({
  endpoint,
  region: "ap-northeast-1",
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  maxAttempts: Number(maxAttempts),
});
const body = JSON.stringify({
  anthropic_version: "bedrock-2023-05-31",
  max_tokens: 1024,
  messages: [{ role: "user", content: [{ type: "text", text: prompt }] }],
});
const result = { handler: client.config.requestHandler.constructor.name, deltas: [], error: null };
const leaving = new AbortController();
try {
  const response = await client.send(
    new InvokeModelWithResponseStreamCommand({ modelId, body, contentType: "application/json" }),
    { abortSignal: leaving.signal },
  );
  for await (const event of response.body) {
    const chunk = JSON.parse(new TextDecoder().decode(event.chunk.bytes));
    if (chunk.type === "content_block_delta") result.deltas.push(chunk.delta.text);
    if (result.deltas.length === Number(leaveAfter)) {
      leaving.abort(); // the SDK resets the HTTP/2 stream (RST_STREAM)
      break;
    }
  }
} catch (error) {
  result.error = { name: error.name, message: error.message, status: error.$metadata?.httpStatusCode ?? null };
}
client.destroy();
console.log(JSON.stringify(result));
