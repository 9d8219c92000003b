using EtlStream.Sources;
using EtlStream.State;
using EtlStream.Tables;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// What an in-cluster backfill loads, as values: the tenant's id, sink and source, the table, the date range and its
/// files per day. Made from a tenant's backfill by <see cref="StarRocksSinkProvider.InCluster"/>, so the plan and the
/// load depend on no orchestrator.
/// </summary>
/// <param name="SinkKind">The tenant's sink kind: only <c>starrocks</c> clusters read object storage themselves.</param>
/// <param name="Target">The tenant's StarRocks target for the table (null when the sink is not StarRocks or Doris).</param>
/// <param name="SourceKind">The tenant's source store kind, whose <paramref name="SourceSettings"/> give the cluster its credentials.</param>
/// <param name="LedgerTarget">The load ledger's key for the table, the one the streaming loads book under.</param>
public sealed record InClusterBackfill(
    string TenantId,
    string TableName,
    TableSpec Spec,
    ChangedFilePolicy OnChanged,
    DateOnly From,
    DateOnly To,
    Shard Shard,
    IReadOnlyList<(DateOnly Date, IReadOnlyList<SourceFile> Files)> Days,
    string SinkKind,
    StarRocksSinkOptions? Target,
    string SourceKind,
    IReadOnlyDictionary<string, string> SourceSettings,
    string LedgerTarget)
{
    /// <summary>Never prints the source's settings (they hold credentials).</summary>
    public override string ToString() => $"{TenantId}/{TableName} {From:yyyy-MM-dd}..{To:yyyy-MM-dd} shard {Shard} into {SinkKind}";
}
