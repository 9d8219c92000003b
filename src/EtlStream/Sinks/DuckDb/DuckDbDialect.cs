using Apache.Arrow;
using EtlStream.Sinks.Sql;
using EtlStream.Tables;

namespace EtlStream.Sinks.DuckDb;

/// <summary>
/// DuckDB: double-quoted identifiers, types as <c>information_schema</c> spells them. NOT NULL and the primary key are
/// declared as on the server databases; tables made before they were (without either) still match, as drift compares
/// names and types only.
/// </summary>
internal sealed class DuckDbDialect : SqlDialect
{
    public static DuckDbDialect Instance { get; } = new();

    public override string Name => "DuckDB";

    protected override string QuoteValid(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public override string TypeOf(Field field) => KindOf(field) switch
    {
        ColumnKind.String => "VARCHAR",
        ColumnKind.Int8 => "TINYINT",
        ColumnKind.Int16 => "SMALLINT",
        ColumnKind.Int32 => "INTEGER",
        ColumnKind.Int64 => "BIGINT",
        ColumnKind.Float64 => "DOUBLE",
        ColumnKind.Bool => "BOOLEAN",
        ColumnKind.Date => "DATE",
        ColumnKind.Timestamp => "TIMESTAMP",
        // Up to DECIMAL(38,s): Arrow's decimal128 reaches DuckDB as it is (see DuckDbArrowScan).
        ColumnKind.Decimal => Invariant($"DECIMAL({Decimal(field).Precision},{Decimal(field).Scale})"),
        _ => throw Unmapped(field),
    };
}
