-- wrk script of the benchmark (t/bench/run.pl): one request builder for
-- every scenario, so that all of them pay the same client overhead, and
-- one machine-readable result line.
--
--   wrk ... -s t/bench/wrk.lua URL -- [key=K] [keys=N] [prefix=P]
--           [header=Name:Value ...] [method=M] [body=FILE]
--
--   key=K     the X-API-Key header is K (one entity)
--   keys=N    X-API-Key is P..i, i picked at random in 0..N-1 (P: the
--             prefix, default "key-")
--   header=   an extra request header (repeatable)
--   method=   the method (default GET); body=FILE: the request body
--   bodies=F  one request body per line of F, picked at random for each
--             request (the raw UpdateItem over many items)
--   expect=S  count every answer whose status is not S (the rejection
--             scenarios: exactly 429, not merely an error)
--
-- done() prints one line: BENCH {"requests":...,"p50_us":...,...}

local counter = 0
local threads = {}

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    threads[#threads + 1] = thread
end

local mode, nkeys, prefix, fixed
local headers = {}
local bodies = {}

function init(args)
    local method, body = "GET", nil

    prefix = "key-"

    for _, a in ipairs(args) do
        local k, v = a:match("^([%w_]+)=(.*)$")
        if k == "key" then
            mode, fixed = "key", v
        elseif k == "keys" then
            mode, nkeys = "keys", tonumber(v)
        elseif k == "threads" then
            -- wrk's -t, for information
        elseif k == "prefix" then
            prefix = v
        elseif k == "method" then
            method = v
        elseif k == "header" then
            local hn, hv = v:match("^([^:]+):(.*)$")
            headers[hn] = hv
        elseif k == "body" then
            local f = assert(io.open(v, "rb"))
            body = f:read("*a")
            f:close()
        elseif k == "expect" then
            -- wrk asks for responses only when response() exists after
            -- init(): the other scenarios do not pay for it
            local want = tonumber(v)
            unexpected = 0
            response = function(status, hdrs, b)
                if status ~= want then
                    unexpected = unexpected + 1
                end
            end
        elseif k == "bodies" then
            for line in io.lines(v) do
                if line ~= "" then
                    bodies[#bodies + 1] = line
                end
            end
            assert(#bodies > 0, "wrk.lua: no body in " .. v)
            mode = "bodies"
        else
            error("wrk.lua: unknown argument " .. a)
        end
    end

    wrk.method = method
    wrk.body = body

    if mode == "key" then
        headers["X-API-Key"] = fixed
    end

    for hn, hv in pairs(headers) do
        wrk.headers[hn] = hv
    end

    -- the request of the fixed modes is built once
    static = wrk.format()
    math.randomseed(os.time() + id * 7919)
end

function request()
    local k

    if mode == "bodies" then
        return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])
    elseif mode == "keys" then
        k = prefix .. (math.random(nkeys) - 1)
    else
        return static
    end

    wrk.headers["X-API-Key"] = k
    return wrk.format()
end

function done(summary, latency, requests)
    local e = summary.errors
    local unexpected_status = -1

    for _, t in ipairs(threads) do
        local u = t:get("unexpected")
        if u then
            unexpected_status = math.max(unexpected_status, 0) + u
        end
    end

    io.write(string.format(
        'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,'
        .. '"p99_us":%d,"mean_us":%.1f,"max_us":%d,"status_errors":%d,'
        .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,'
        .. '"timeouts":%d,"unexpected_status":%d}\n',
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.mean, latency.max,
        e.status, e.connect, e.read, e.write, e.timeout, unexpected_status))
end
