using System.Diagnostics;
using System.Globalization;
using EtlStream.Resilience;
using EtlStream.Sources;

namespace EtlStream.Sinks.StarRocks;

/// <summary>StarRocks transaction mode: a file is one transaction (begin, a load per chunk, prepare, commit), rolled back whole on failure.</summary>
public sealed partial class StarRocksSink
{
    private async Task LoadInTransactionAsync(FileTransaction txn, SourceFile file, int chunk, PooledBufferWriter body, CancellationToken cancellationToken)
    {
        if (_options.Dialect == StreamLoadDialect.Doris)
        {
            await LoadDorisChunkAsync(txn, file, chunk, body, cancellationToken).ConfigureAwait(false);
            return;
        }

        var headers = LoadHeaders(txn.Label);
        headers.Add(new("db", _options.Database));
        headers.Add(new("table", _options.Table));
        var started = Stopwatch.GetTimestamp();
        var reply = await _client.SendAsync(HttpMethod.Put, "/api/transaction/load", headers, body.Segment, toBackend: true, "loading", cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _loadTicks, Stopwatch.GetElapsedTime(started).Ticks);
        var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
        if (outcome.Decision != StreamLoadDecision.Committed)
        {
            // Not retried: the server rolls a transaction back on any failed load, and a load with no reply may or may
            // not have been appended: either way this file can only be loaded again from its start, by the next run.
            if (outcome.HasFilteredRows)
            {
                await ReportFilteredAsync(outcome.Response!, file, cancellationToken).ConfigureAwait(false);
            }

            throw Failure(txn.Label, $"{file.Name} chunk {chunk}: transaction load failed", reply, outcome, isTransient: outcome.Decision != StreamLoadDecision.Fail);
        }

        await CountAsync(Attempt(reply, outcome), file, body.Written, cancellationToken).ConfigureAwait(false);
    }

    private async Task BeginAsync(FileTransaction txn, CancellationToken cancellationToken)
    {
        var result = await _retry.ExecuteAsync(
            async (_, token) =>
            {
                _openRecord.Add(txn.Label); // before the request: a begin whose reply is lost still gets rolled back later
                var reply = await _client.SendAsync(HttpMethod.Post, "/api/transaction/begin", TransactionHeaders(txn.Label), null, toBackend: false, "beginning a transaction", token).ConfigureAwait(false);
                return Attempt(reply, StreamLoadClassifier.Classify(reply.Status, reply.Body));
            },
            async (_, failed, token) =>
            {
                if (failed.Value.Outcome.Decision == StreamLoadDecision.PollLabel)
                {
                    // Ours, from a begin whose reply was lost (or a run that died): nothing of it can be trusted, so it goes.
                    await AbortQuietlyAsync(txn.Label, token).ConfigureAwait(false);
                }

                Interlocked.Increment(ref _retries);
            },
            cancellationToken).ConfigureAwait(false);

        switch (result.Last.Outcome)
        {
            case RemoteOutcome.AlreadyDone:
                txn.AlreadyLoaded = true; // this file's transaction committed in an earlier run
                _openRecord.Remove(txn.Label);
                return;
            case RemoteOutcome.Done:
                txn.Began = true;
                return;
            default:
                var (reply, outcome) = result.Last.Value;
                throw Failure(txn.Label, "begin transaction failed", reply, outcome, isTransient: result.Last.Outcome != RemoteOutcome.DontRetry);
        }
    }

    /// <summary>prepare or commit, retried until the server says it is done; commit is idempotent on the server.</summary>
    private Task TransactionStepAsync(string label, string step, CancellationToken cancellationToken) => ControlAsync(
        label,
        $"{step} transaction failed",
        token => _client.SendAsync(HttpMethod.Post, $"/api/transaction/{step}", TransactionHeaders(label), null, toBackend: false, step == "commit" ? "committing" : "preparing", token),
        (_, outcome) => step == "commit" && outcome.Decision is StreamLoadDecision.Fail or StreamLoadDecision.Unknown,
        cancellationToken);

    /// <summary>
    /// A transaction step (StarRocks prepare or commit, Doris two-phase commit or abort) sent until the server says it
    /// is done. When <paramref name="askLabel"/> says a reply leaves open whether a commit was applied (its reply was
    /// lost, or the server says "already"), the label state decides: committed is done, and nothing is sent again.
    /// </summary>
    private async Task ControlAsync(
        string label, string failed, Func<CancellationToken, Task<StreamLoadReply>> send, Func<StreamLoadReply, StreamLoadOutcome, bool> askLabel, CancellationToken cancellationToken)
    {
        var result = await _retry.ExecuteAsync(
            async (_, token) =>
            {
                var reply = await send(token).ConfigureAwait(false);
                var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
                if (askLabel(reply, outcome) &&
                    StreamLoadClassifier.ClassifyLabelState(await LabelStateAsync(label, token).ConfigureAwait(false)) == StreamLoadDecision.Committed)
                {
                    return new RemoteAttempt<StreamLoadTry>(RemoteOutcome.AlreadyDone, new StreamLoadTry(reply, outcome));
                }

                return Attempt(reply, outcome);
            },
            (_, _, _) =>
            {
                Interlocked.Increment(ref _retries);
                return ValueTask.CompletedTask;
            },
            cancellationToken).ConfigureAwait(false);

        if (!result.Last.IsDone)
        {
            var (reply, outcome) = result.Last.Value;
            throw Failure(label, failed, reply, outcome, isTransient: result.Last.Outcome != RemoteOutcome.DontRetry);
        }
    }

    private List<KeyValuePair<string, string>> TransactionHeaders(string label) =>
    [
        new("label", label),
        new("db", _options.Database),
        new("table", _options.Table),
        new("timeout", _options.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)),
    ];

    private async Task RollbackAsync(FileTransaction txn, CancellationToken cancellationToken)
    {
        if (txn.Began)
        {
            txn.Began = false;
            await AbortQuietlyAsync(txn.Label, cancellationToken).ConfigureAwait(false);
            _openRecord.Remove(txn.Label);
        }

        foreach (var (label, id) in txn.DorisTransactions)
        {
            try
            {
                await DorisTwoPhaseAsync(label, id, "abort", cancellationToken).ConfigureAwait(false);
            }
            catch (StreamLoadException)
            {
                // recorded in the open-transaction file: the next start tries again
            }
        }

        txn.DorisTransactions.Clear();
        ReleaseSlot(txn);
    }

    /// <summary>Rolls back a transaction by label; one that does not exist (any more) is fine.</summary>
    private async Task AbortQuietlyAsync(string label, CancellationToken cancellationToken)
    {
        if (_options.Dialect == StreamLoadDialect.Doris)
        {
            await _client.SendAsync(HttpMethod.Put, $"/api/{_options.Database}/{_options.Table}/_stream_load_2pc",
                [new("label", label), new("txn_operation", "abort")], null, toBackend: false, "rolling back", cancellationToken).ConfigureAwait(false);
            return;
        }

        await _client.SendAsync(HttpMethod.Post, "/api/transaction/rollback", TransactionHeaders(label), null, toBackend: false, "rolling back", cancellationToken).ConfigureAwait(false);
    }
}
