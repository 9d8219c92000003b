using Apache.Arrow.Types;

namespace EtlStream.Tables;

/// <summary>The one mapping from declared column types to Arrow types; sinks map Arrow types onwards.</summary>
internal static class ArrowTypes
{
    /// <summary>Field metadata key carrying a varchar's declared length (UTF-8 bytes), for sinks whose DDL has lengths.</summary>
    public const string MaxLengthKey = "etlstream.max_length";

    /// <summary>Field metadata key carrying a varchar's <c>overflow</c> policy (reject, truncate, widen), for sinks whose live column may be shorter than the spec.</summary>
    public const string OverflowKey = "etlstream.overflow";

    /// <summary>Schema metadata key: <c>evolve</c> allows a sink to add the schema's new nullable columns to an existing table.</summary>
    public const string SchemaDriftKey = "etlstream.schema_drift";

    public static readonly TimestampType Timestamp = new(TimeUnit.Microsecond, (string?)null);

    public static IArrowType For(ColumnType type) => type.Kind switch
    {
        ColumnKind.String => StringType.Default,
        ColumnKind.Int8 => Int8Type.Default,
        ColumnKind.Int16 => Int16Type.Default,
        ColumnKind.Int32 => Int32Type.Default,
        ColumnKind.Int64 => Int64Type.Default,
        ColumnKind.Decimal => new Decimal128Type(type.Precision, type.Scale),
        ColumnKind.Float64 => DoubleType.Default,
        ColumnKind.Bool => BooleanType.Default,
        ColumnKind.Date => Date32Type.Default,
        ColumnKind.Timestamp => Timestamp,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type.Kind, null),
    };

    /// <summary>The column kind an Arrow type carries: the one switch sinks and encoders dispatch on.</summary>
    public static ColumnKind KindOf(IArrowType type) => type switch
    {
        StringType => ColumnKind.String,
        Int8Type => ColumnKind.Int8,
        Int16Type => ColumnKind.Int16,
        Int32Type => ColumnKind.Int32,
        Int64Type => ColumnKind.Int64,
        Decimal128Type => ColumnKind.Decimal,
        DoubleType => ColumnKind.Float64,
        BooleanType => ColumnKind.Bool,
        Date32Type => ColumnKind.Date,
        TimestampType { Timezone: null or "" } => ColumnKind.Timestamp,
        _ => throw new NotSupportedException($"Arrow type {type.Name} is not one the engine produces"),
    };
}
