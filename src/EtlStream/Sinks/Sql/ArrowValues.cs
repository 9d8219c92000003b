using System.Buffers.Binary;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace EtlStream.Sinks.Sql;

/// <summary>Typed reads of Arrow values that database drivers take as CLR values.</summary>
internal static class ArrowValues
{
    public const int UnixEpochDayNumber = 719162; // DateOnly(1970, 1, 1).DayNumber

    /// <summary>A Decimal128 value as <see cref="decimal"/>; fails naming the column when it needs more than 96 bits.</summary>
    public static decimal ToDecimal(Decimal128Array array, int index, string column, string database)
    {
        var scale = (byte)((Decimal128Type)array.Data.DataType).Scale;
        var unscaled = BinaryPrimitives.ReadInt128LittleEndian(array.ValueBuffer.Span.Slice((array.Offset + index) * 16, 16));
        var negative = unscaled < 0;
        var magnitude = negative ? (UInt128)(-unscaled) : (UInt128)unscaled;
        if ((magnitude >> 96) != UInt128.Zero || scale > 28)
        {
            throw new OverflowException(
                $"Column \"{column}\": decimal value does not fit System.Decimal (96-bit, scale ≤ 28), which the {database} driver requires.");
        }

        var low = (ulong)magnitude;
        return new decimal((int)(uint)low, (int)(uint)(low >> 32), (int)(uint)(magnitude >> 64), negative, scale);
    }

    public static DateOnly ToDate(Date32Array array, int index) => DateOnly.FromDayNumber(UnixEpochDayNumber + array.Values[index]);

    /// <summary>A timestamp without time zone as an unspecified-kind <see cref="DateTime"/>, exact to the tick.</summary>
    public static DateTime ToDateTime(TimestampArray array, int index)
    {
        var value = array.Values[index];
        var ticks = ((TimestampType)array.Data.DataType).Unit switch
        {
            TimeUnit.Second => value * TimeSpan.TicksPerSecond,
            TimeUnit.Millisecond => value * TimeSpan.TicksPerMillisecond,
            TimeUnit.Microsecond => value * TimeSpan.TicksPerMicrosecond,
            _ => value / 100,
        };
        return new DateTime(DateTime.UnixEpoch.Ticks + ticks, DateTimeKind.Unspecified);
    }

    /// <summary>The UTF-8 bytes of a string value, without decoding them.</summary>
    public static ReadOnlyMemory<byte> Utf8(StringArray array, int index)
    {
        var offsets = array.ValueOffsets;
        var start = offsets[index];
        return array.ValueBuffer.Memory.Slice(start, offsets[index + 1] - start);
    }
}
