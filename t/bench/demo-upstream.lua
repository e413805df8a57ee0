-- wrk script for the demo upstream's throughput (docs/benchmarks.md):
-- the chat request of `make run`; DEMO_STREAM=1 asks for the answer as
-- SSE (5 content chunks and the usage chunk, no delay)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"gpt-4","max_tokens":50,'
           .. '"messages":[{"role":"user","content":"hello"}]}'
if os.getenv("DEMO_STREAM") == "1" then
    wrk.body = '{"model":"gpt-4","max_tokens":50,"stream":true,'
               .. '"stream_options":{"include_usage":true},'
               .. '"messages":[{"role":"user","content":"hello"}]}'
end
