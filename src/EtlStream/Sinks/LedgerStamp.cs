namespace EtlStream.Sinks;

/// <summary>
/// Who records a load in the target database's own ledger table (<c>_etlstream_ledger</c>, see Sql.SqlLedger), written
/// in the same transaction as the rows (ClickHouse, without transactions: right after them): tenant, the load ledger's
/// name for the table, and the run.
/// </summary>
public sealed record LedgerStamp(string Tenant, string Target, string RunId)
{
    /// <summary>The target's ledger table, beside the tenant's tables.</summary>
    public const string Table = "_etlstream_ledger";
}
