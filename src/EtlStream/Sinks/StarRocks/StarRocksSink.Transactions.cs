using System.Diagnostics;
using System.Globalization;
using EtlStream.Sources;

namespace EtlStream.Sinks.StarRocks;

/// <summary>StarRocks transaction mode: a file is one transaction (begin, a load per chunk, prepare, commit), rolled back whole on failure.</summary>
public sealed partial class StarRocksSink
{
    private async Task LoadInTransactionAsync(FileTransaction txn, SourceFile file, int chunk, PooledBufferWriter body, CancellationToken cancellationToken)
    {
        if (_options.Dialect == StreamLoadDialect.Doris)
        {
            // Doris: each chunk is its own pre-committed transaction; all are committed when the file is complete.
            var label = StreamLoadLabel.For(_options.Tenant, _options.Database, _options.Table, file, chunk, _shape);
            _openRecord.Add(label);
            var outcome = await LoadAsync(label, file, body, cancellationToken, twoPhase: true).ConfigureAwait(false);
            if (outcome.Response is { TxnId: > 0 } r && !outcome.Reason.StartsWith("label already exists", StringComparison.Ordinal))
            {
                txn.DorisTransactions.Add((label, r.TxnId));
            }
            else
            {
                _openRecord.Remove(label); // committed by an earlier run
            }

            return;
        }

        var headers = LoadHeaders(txn.Label);
        headers.Add(new("db", _options.Database));
        headers.Add(new("table", _options.Table));
        var started = Stopwatch.GetTimestamp();
        var reply = await _client.SendAsync(HttpMethod.Put, "/api/transaction/load", headers, body.Segment, toBackend: true, "loading", cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _loadTicks, Stopwatch.GetElapsedTime(started).Ticks);
        var outcome2 = StreamLoadClassifier.Classify(reply.Status, reply.Body);
        if (outcome2.Decision != StreamLoadDecision.Committed)
        {
            // The server rolls a transaction back on any failed load, and a load with no reply may or may not have
            // been appended: either way this file can only be loaded again from its start, by the next run.
            if (outcome2.HasFilteredRows)
            {
                await ReportFilteredAsync(outcome2.Response!, file, cancellationToken).ConfigureAwait(false);
            }

            throw Failure(txn.Label, $"{file.Name} chunk {chunk}: transaction load failed", reply, outcome2, isTransient: outcome2.Decision != StreamLoadDecision.Fail);
        }

        await CountAsync(outcome2, file, body.Written, cancellationToken).ConfigureAwait(false);
    }

    private async Task BeginAsync(FileTransaction txn, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            _openRecord.Add(txn.Label); // before the request: a begin whose reply is lost still gets rolled back later
            var reply = await _client.SendAsync(HttpMethod.Post, "/api/transaction/begin", TransactionHeaders(txn.Label), null, toBackend: false, "beginning a transaction", cancellationToken).ConfigureAwait(false);
            var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
            var already = outcome.Reason.StartsWith("label already exists", StringComparison.Ordinal);
            if (outcome.Decision == StreamLoadDecision.Committed && already)
            {
                txn.AlreadyLoaded = true; // this file's transaction committed in an earlier run
                _openRecord.Remove(txn.Label);
                return;
            }

            if (outcome.Decision == StreamLoadDecision.Committed)
            {
                txn.Began = true;
                return;
            }

            if (attempt >= _options.MaxAttempts || outcome.Decision == StreamLoadDecision.Fail)
            {
                throw Failure(txn.Label, "begin transaction failed", reply, outcome, isTransient: outcome.Decision != StreamLoadDecision.Fail);
            }

            if (outcome.Decision == StreamLoadDecision.PollLabel)
            {
                // Ours, from a begin whose reply was lost (or a run that died): nothing of it can be trusted, so it goes.
                await AbortQuietlyAsync(txn.Label, cancellationToken).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _retries);
            await Task.Delay(Backoff(attempt, outcome.Busy), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>prepare or commit, retried until the server says it is done; commit is idempotent on the server.</summary>
    private async Task TransactionStepAsync(string label, string step, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var reply = await _client.SendAsync(HttpMethod.Post, $"/api/transaction/{step}", TransactionHeaders(label), null, toBackend: false, step == "commit" ? "committing" : "preparing", cancellationToken).ConfigureAwait(false);
            var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
            if (outcome.Decision == StreamLoadDecision.Committed)
            {
                return;
            }

            if (step == "commit" && outcome.Decision is StreamLoadDecision.Fail or StreamLoadDecision.Unknown)
            {
                // A commit whose reply was lost may have been applied: the label state says.
                var state = await LabelStateAsync(label, cancellationToken).ConfigureAwait(false);
                if (StreamLoadClassifier.ClassifyLabelState(state) == StreamLoadDecision.Committed)
                {
                    return;
                }
            }

            if (attempt >= _options.MaxAttempts || outcome.Decision == StreamLoadDecision.Fail)
            {
                throw Failure(label, $"{step} transaction failed", reply, outcome, isTransient: outcome.Decision != StreamLoadDecision.Fail);
            }

            Interlocked.Increment(ref _retries);
            await Task.Delay(Backoff(attempt, outcome.Busy), cancellationToken).ConfigureAwait(false);
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
