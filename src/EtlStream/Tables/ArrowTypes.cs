using Apache.Arrow.Types;

namespace EtlStream.Tables;

/// <summary>The one mapping from declared column types to Arrow types; sinks map Arrow types onwards.</summary>
public static class ArrowTypes
{
    /// <summary>Field metadata key carrying a varchar's declared length (UTF-8 bytes), for sinks whose DDL has lengths.</summary>
    public const string MaxLengthKey = "etlstream.max_length";

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
}
