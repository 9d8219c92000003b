using System.Diagnostics;
using System.Globalization;
using EtlStream.Resilience;
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
    private async Task<RemoteAttempt<StreamLoadTry>> LoadAsync(string label, SourceFile file, PooledBufferWriter body, CancellationToken cancellationToken, bool twoPhase = false)
    {
        var headers = LoadHeaders(label);
        if (twoPhase)
        {
            headers.Add(new("two_phase_commit", "true"));
        }

        var done = await SendWithRetriesAsync(label, file, StreamLoadPath, headers, body.Segment, cancellationToken).ConfigureAwait(false);
        await CountAsync(done, file, body.Written, cancellationToken).ConfigureAwait(false);
        return done;
    }

    private async Task CountAsync(RemoteAttempt<StreamLoadTry> done, SourceFile file, long bytes, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loads);
        Interlocked.Add(ref _bytesSent, bytes);
        if (done.Outcome == RemoteOutcome.AlreadyDone)
        {
            Interlocked.Increment(ref _already);
            return;
        }

        var outcome = done.Value.Outcome;
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
    /// Returns the committing attempt (<see cref="RemoteOutcome.AlreadyDone"/>: committed under the label earlier).
    /// </summary>
    private async Task<RemoteAttempt<StreamLoadTry>> SendWithRetriesAsync(
        string label, SourceFile file, string path, List<KeyValuePair<string, string>> headers, ArraySegment<byte> body, CancellationToken cancellationToken)
    {
        var result = await _retry.ExecuteAsync(
            async (_, token) =>
            {
                var started = Stopwatch.GetTimestamp();
                var reply = await _client.SendAsync(HttpMethod.Put, path, headers, body, toBackend: true, "loading", token).ConfigureAwait(false);
                Interlocked.Add(ref _loadTicks, Stopwatch.GetElapsedTime(started).Ticks);
                var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
                if (outcome.Decision is StreamLoadDecision.Unknown or StreamLoadDecision.PollLabel &&
                    await ResolveLabelAsync(label, outcome.Decision == StreamLoadDecision.PollLabel, token).ConfigureAwait(false) == StreamLoadDecision.Committed)
                {
                    outcome = new StreamLoadOutcome(StreamLoadDecision.Committed, "label already exists (resolved by get_load_state)", outcome.Response) { AlreadyCommitted = true };
                }

                // Unknown or PollLabel still: get_load_state says it did not commit (or could not say), so the same label is re-sent.
                return Attempt(reply, outcome);
            },
            (attempt, failed, _) =>
            {
                LogRetry(_logger, label, attempt, failed.Value.Outcome.Reason + (failed.Value.Reply.TransportError is { } t ? $" ({t})" : ""));
                Interlocked.Increment(ref _retries);
                return ValueTask.CompletedTask;
            },
            cancellationToken).ConfigureAwait(false);

        var (last, (reply, outcome)) = (result.Last, result.Last.Value);
        switch (last.Outcome)
        {
            case RemoteOutcome.Done or RemoteOutcome.AlreadyDone:
                return last;
            case RemoteOutcome.DontRetry:
                if (outcome.HasFilteredRows)
                {
                    await ReportFilteredAsync(outcome.Response!, file, cancellationToken).ConfigureAwait(false);
                }

                throw Failure(label, "load failed", reply, outcome, isTransient: false);
            default:
                throw Failure(label, $"load failed after {result.Attempts} attempts", reply, outcome, isTransient: true);
        }
    }

    /// <summary>One try of a Stream Load or transaction request: the reply, and what the classifier made of it.</summary>
    private readonly record struct StreamLoadTry(StreamLoadReply Reply, StreamLoadOutcome Outcome);

    /// <summary>
    /// The classifier's decision as the retry policy's outcome: committed is done (already done when the label had
    /// committed before); fail is not retried; retry, and an outcome still unknown, are retried under the same label.
    /// </summary>
    private static RemoteAttempt<StreamLoadTry> Attempt(StreamLoadReply reply, StreamLoadOutcome outcome) => new(
        outcome.Decision switch
        {
            StreamLoadDecision.Committed => outcome.AlreadyCommitted ? RemoteOutcome.AlreadyDone : RemoteOutcome.Done,
            StreamLoadDecision.Fail => RemoteOutcome.DontRetry,
            _ => RemoteOutcome.Retry,
        },
        new StreamLoadTry(reply, outcome),
        outcome.Busy);

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
}
