using System.Globalization;
using EtlStream.Resilience;
using EtlStream.Sources;

namespace EtlStream.Sinks.StarRocks;

/// <summary>Doris transaction mode: each chunk a pre-committed two-phase load, all committed when the file is complete.</summary>
public sealed partial class StarRocksSink
{
    private async Task LoadDorisChunkAsync(FileTransaction txn, SourceFile file, int chunk, PooledBufferWriter body, CancellationToken cancellationToken)
    {
        var label = StreamLoadLabel.For(_options.Tenant, _options.Database, _options.Table, file, chunk, _shape);
        _openRecord.Add(label);
        var done = await LoadAsync(label, file, body, cancellationToken, twoPhase: true).ConfigureAwait(false);
        if (done.Outcome == RemoteOutcome.Done && done.Value.Outcome.Response is { TxnId: > 0 } r)
        {
            txn.DorisTransactions.Add((label, r.TxnId));
        }
        else
        {
            _openRecord.Remove(label); // committed by an earlier run
        }
    }

    private async Task DorisTwoPhaseAsync(string label, long txnId, string operation, CancellationToken cancellationToken)
    {
        await ControlAsync(
            label,
            $"two-phase {operation} of transaction {txnId} failed",
            token => _client.SendAsync(HttpMethod.Put, $"/api/{_options.Database}/{_options.Table}/_stream_load_2pc",
                [new("txn_id", txnId.ToString(CultureInfo.InvariantCulture)), new("txn_operation", operation)], null, toBackend: false, operation == "commit" ? "committing" : "rolling back", token),
            (reply, outcome) => operation == "commit" && outcome.Decision != StreamLoadDecision.Committed && reply.Body?.Contains("already", StringComparison.OrdinalIgnoreCase) == true,
            cancellationToken).ConfigureAwait(false);
        _openRecord.Remove(label);
    }
}
