using System.Globalization;

namespace EtlStream.Sinks.StarRocks;

/// <summary>Doris transaction mode: each chunk a pre-committed two-phase load, all committed when the file is complete.</summary>
public sealed partial class StarRocksSink
{
    private async Task DorisTwoPhaseAsync(string label, long txnId, string operation, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var reply = await _client.SendAsync(HttpMethod.Put, $"/api/{_options.Database}/{_options.Table}/_stream_load_2pc",
                [new("txn_id", txnId.ToString(CultureInfo.InvariantCulture)), new("txn_operation", operation)], null, toBackend: false, operation == "commit" ? "committing" : "rolling back", cancellationToken).ConfigureAwait(false);
            var outcome = StreamLoadClassifier.Classify(reply.Status, reply.Body);
            if (outcome.Decision == StreamLoadDecision.Committed ||
                (reply.Body?.Contains("already", StringComparison.OrdinalIgnoreCase) == true && operation == "commit" &&
                 StreamLoadClassifier.ClassifyLabelState(await LabelStateAsync(label, cancellationToken).ConfigureAwait(false)) == StreamLoadDecision.Committed))
            {
                _openRecord.Remove(label);
                return;
            }

            if (attempt >= _options.MaxAttempts || outcome.Decision == StreamLoadDecision.Fail)
            {
                throw Failure(label, $"two-phase {operation} of transaction {txnId} failed", reply, outcome, isTransient: outcome.Decision != StreamLoadDecision.Fail);
            }

            Interlocked.Increment(ref _retries);
            await Task.Delay(Backoff(attempt, outcome.Busy), cancellationToken).ConfigureAwait(false);
        }
    }
}
