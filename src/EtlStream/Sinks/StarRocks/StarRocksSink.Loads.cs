using System.Diagnostics;
using System.Globalization;
using EtlStream.Sources;

namespace EtlStream.Sinks.StarRocks;

/// <summary>Stream Loads under a label, retried by the shared policy until committed once; counts, filtered rows and errors.</summary>
public sealed partial class StarRocksSink
{
    private List<KeyValuePair<string, string>> LoadHeaders(string label)
    {
        var doris = _options.Dialect == StreamLoadDialect.Doris;
        return
        [
            new("label", label),
            new("format", "csv"),
            new("columns", _columns),
            new("column_separator", "\\x09"),
            new(doris ? "line_delimiter" : "row_delimiter", "\\x0a"),
            new("enclose", "\""),
            new("max_filter_ratio", _options.MaxFilterRatio.ToString(CultureInfo.InvariantCulture)),
            new("strict_mode", _options.StrictMode ? "true" : "false"),
            new("timeout", _options.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    private string StreamLoadPath => $"/api/{_options.Database}/{_options.Table}/_stream_load";

    /// <summary>A plain Stream Load under <paramref name="label"/> (Doris transaction mode: pre-committed, two-phase).</summary>
    private async Task<StreamLoadOutcome> LoadAsync(string label, SourceFile file, PooledBufferWriter body, CancellationToken cancellationToken, bool twoPhase = false)
    {
        var headers = LoadHeaders(label);
        if (twoPhase)
        {
            headers.Add(new("two_phase_commit", "true"));
        }

        var outcome = await SendWithRetriesAsync(label, file, StreamLoadPath, headers, body.Segment, cancellationToken).ConfigureAwait(false);
        await CountAsync(outcome, file, body.Written, cancellationToken).ConfigureAwait(false);
        return outcome;
    }

    private async Task CountAsync(StreamLoadOutcome outcome, SourceFile file, long bytes, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loads);
        Interlocked.Add(ref _bytesSent, bytes);
        if (outcome.Reason.StartsWith("label already exists", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _already);
            return;
        }

        if (outcome.Response is { } r)
        {
            Interlocked.Add(ref _rowsLoaded, r.NumberLoadedRows);
            Interlocked.Add(ref _rowsFiltered, r.NumberFilteredRows);
            if (outcome.HasFilteredRows)
            {
                await ReportFilteredAsync(r, file, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Sends a load until it is committed once. A reply that leaves the outcome unknown is followed by
    /// <c>get_load_state</c> before anything is re-sent; a running label is polled; every re-send reuses the label.
    /// </summary>
    private async Task<StreamLoadOutcome> SendWithRetriesAsync(
        string label, SourceFile file, string path, List<KeyValuePair<string, string>> headers, ArraySegment<byte> body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            var reply = await _client.SendAsync(HttpMethod.Put, path, headers, body, toBackend: true, "loading", cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _loadTicks, Stopwatch.GetElapsedTime(started).Ticks);
            var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
            var decision = outcome.Decision;
            if (decision is StreamLoadDecision.Unknown or StreamLoadDecision.PollLabel)
            {
                decision = await ResolveLabelAsync(label, decision == StreamLoadDecision.PollLabel, cancellationToken).ConfigureAwait(false);
                if (decision == StreamLoadDecision.Committed)
                {
                    return new StreamLoadOutcome(StreamLoadDecision.Committed, "label already exists (resolved by get_load_state)", outcome.Response);
                }
            }

            switch (decision)
            {
                case StreamLoadDecision.Committed:
                    return outcome;
                case StreamLoadDecision.Fail:
                    if (outcome.HasFilteredRows)
                    {
                        await ReportFilteredAsync(outcome.Response!, file, cancellationToken).ConfigureAwait(false);
                    }

                    throw Failure(label, "load failed", reply, outcome, isTransient: false);
            }

            if (attempt >= _options.MaxAttempts)
            {
                throw Failure(label, $"load failed after {attempt} attempts", reply, outcome, isTransient: true);
            }

            LogRetry(_logger, label, attempt, outcome.Reason + (reply.TransportError is { } t ? $" ({t})" : ""));
            Interlocked.Increment(ref _retries);
            await Task.Delay(Backoff(attempt, outcome.Busy), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ReportFilteredAsync(StreamLoadResponse response, SourceFile file, CancellationToken cancellationToken)
    {
        if (response.ErrorURL is not { Length: > 0 } url)
        {
            return;
        }

        var text = await _client.GetTextAsync(url, cancellationToken).ConfigureAwait(false);
        if (text is null)
        {
            LogErrorUrlUnreadable(_logger, url);
            return;
        }

        var rows = StreamLoadErrorLog.Parse(text, file.Name);
        if (rows.Count > 0 && _rejects is { } callback)
        {
            await callback(rows, cancellationToken).ConfigureAwait(false);
        }
    }

    private StreamLoadException Failure(string label, string what, StreamLoadReply reply, StreamLoadOutcome outcome, bool isTransient)
    {
        var detail = reply.TransportError ?? (reply.Status is { } s && s != 200 ? $"HTTP {s}: {outcome.Reason}" : outcome.Reason);
        var url = outcome.Response?.ErrorURL;
        var message = $"{_options.Dialect} {_options.Database}.{_options.Table} label {label}: {what}: {detail}" + (url is { Length: > 0 } ? $" (rejected rows: {url})" : "");
        return new StreamLoadException(Redact(message), label, reply.Status, outcome.Response?.Status, url, isTransient);
    }

    private string Redact(string text) => _options.Redact(text);

    /// <summary>Jittered exponential backoff with a cap ("full jitter"); a busy cluster gets the cap's half at least.</summary>
    private TimeSpan Backoff(int attempt, bool busy)
    {
        var ceiling = Math.Min(_options.BackoffCap.TotalMilliseconds, _options.BackoffBase.TotalMilliseconds * Math.Pow(2, attempt - 1));
        var floor = busy ? Math.Min(ceiling, _options.BackoffCap.TotalMilliseconds / 2) : 0;
        return TimeSpan.FromMilliseconds(floor + (Random.Shared.NextDouble() * (ceiling - floor)));
    }
}
