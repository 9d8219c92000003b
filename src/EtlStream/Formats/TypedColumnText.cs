using System.Buffers.Text;
using System.Globalization;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Memory;

namespace EtlStream.Formats;

/// <summary>
/// A typed Arrow column written as text in <see cref="TextColumnData"/> layout, into a batch's pooled memory: what
/// string columns, rules, filters without a typed path and a reject's raw row read from a Parquet or Arrow column.
/// The text is the one a CSV would hold, so it reads back through the same parsers: integers and decimals exactly
/// (<c>-12.50</c> at the column's scale), floats as the shortest text that round-trips, booleans <c>true</c>/<c>false</c>,
/// dates <c>yyyy-MM-dd</c>, timestamps <c>yyyy-MM-dd HH:mm:ss</c> with the fraction the unit has when it is not zero
/// (a time zone's timestamps are UTC instants, written in UTC), times <c>HH:mm:ss[.fff…]</c>, binary as lowercase hex.
/// </summary>
internal static class TypedColumnText
{
    /// <summary>Whether a column of <paramref name="type"/> can be read at all (as text, and so into any column type).</summary>
    public static bool Supports(IArrowType type) => type switch
    {
        DictionaryType d => Supports(d.ValueType),
        StringType or LargeStringType or StringViewType or BinaryType or LargeBinaryType or FixedSizeBinaryType => true,
        BooleanType or Int8Type or Int16Type or Int32Type or Int64Type or UInt8Type or UInt16Type or UInt32Type or UInt64Type => true,
        HalfFloatType or FloatType or DoubleType or Decimal32Type or Decimal64Type or Decimal128Type => true,
        Date32Type or Date64Type or TimestampType or Time32Type or Time64Type or NullType => true,
        _ => false,
    };

    /// <summary>The text of <paramref name="array"/>'s <paramref name="rows"/> values; a missing column (null) is all NULL.</summary>
    public static TextColumnData Write(IArrowArray? array, int rows, BatchMemory memory)
    {
        var offsetBytes = memory.RentOffsets(rows);
        var offsets = MemoryMarshal.Cast<byte, int>(offsetBytes.AsSpan(0, (rows + 1) * sizeof(int)));
        var validity = memory.RentBytes((rows + 7) / 8);
        System.Array.Clear(validity, 0, (rows + 7) / 8);
        if (array is null or NullArray)
        {
            offsets.Clear();
            return new TextColumnData(memory.RentBytes(16), offsetBytes, validity, rows);
        }

        if (array is StringArray strings)
        {
            return CopyStrings(strings, rows, memory, offsetBytes, validity);
        }

        var writer = new Writer(memory, EstimateBytes(array, rows));
        var nulls = 0;
        offsets[0] = 0;
        for (var row = 0; row < rows; row++)
        {
            if (array.IsValid(row))
            {
                WriteValue(array, row, ref writer);
                validity[row >> 3] |= (byte)(1 << (row & 7));
            }
            else
            {
                nulls++;
            }

            offsets[row + 1] = writer.Length;
        }

        return new TextColumnData(writer.Buffer, offsetBytes, validity, nulls);
    }

    /// <summary>One value's text, for an error message.</summary>
    public static string Describe(IArrowArray array, int row)
    {
        if (!array.IsValid(row))
        {
            return "";
        }

        var memory = new BatchMemory();
        try
        {
            var writer = new Writer(memory, 64);
            WriteValue(array, row, ref writer);
            return System.Text.Encoding.UTF8.GetString(writer.Buffer, 0, writer.Length);
        }
        finally
        {
            memory.Dispose();
        }
    }

    /// <summary>A string column's bytes as they are: one copy of the values, the offsets moved to start at 0.</summary>
    private static TextColumnData CopyStrings(StringArray strings, int rows, BatchMemory memory, byte[] offsetBytes, byte[] validity)
    {
        var source = strings.ValueOffsets;
        var first = source[0];
        var length = source[rows] - first;
        var values = memory.RentBytes(length);
        strings.ValueBuffer.Span.Slice(first, length).CopyTo(values);
        var offsets = MemoryMarshal.Cast<byte, int>(offsetBytes.AsSpan(0, (rows + 1) * sizeof(int)));
        for (var i = 0; i <= rows; i++)
        {
            offsets[i] = source[i] - first;
        }

        var nulls = 0;
        for (var row = 0; row < rows; row++)
        {
            if (strings.IsValid(row))
            {
                validity[row >> 3] |= (byte)(1 << (row & 7));
            }
            else
            {
                nulls++;
            }
        }

        return new TextColumnData(values, offsetBytes, validity, nulls);
    }

    private static int EstimateBytes(IArrowArray array, int rows) => array switch
    {
        LargeStringArray s => (int)Math.Min(int.MaxValue / 2, s.ValueOffsets[rows] - s.ValueOffsets[0]),
        BooleanArray => rows * 5,
        Int8Array or UInt8Array => rows * 4,
        Date32Array or Date64Array => rows * 10,
        TimestampArray => rows * 26,
        _ => rows * 12,
    };

    private static void WriteValue(IArrowArray array, int row, ref Writer w)
    {
        switch (array)
        {
            case LargeStringArray s:
                w.Append(s.GetBytes(row));
                break;
            case StringViewArray s:
                w.Append(s.GetBytes(row));
                break;
            case BinaryArray b:
                w.AppendHex(b.GetBytes(row));
                break;
            case LargeBinaryArray b:
                w.AppendHex(b.GetBytes(row));
                break;
            case BooleanArray b:
                w.Append(b.GetValue(row) == true ? "true"u8 : "false"u8);
                break;
            case Int8Array a:
                w.AppendInteger(a.GetValue(row)!.Value);
                break;
            case Int16Array a:
                w.AppendInteger(a.GetValue(row)!.Value);
                break;
            case Int32Array a:
                w.AppendInteger(a.GetValue(row)!.Value);
                break;
            case Int64Array a:
                w.AppendInteger(a.GetValue(row)!.Value);
                break;
            case UInt8Array a:
                w.AppendInteger(a.GetValue(row)!.Value);
                break;
            case UInt16Array a:
                w.AppendInteger(a.GetValue(row)!.Value);
                break;
            case UInt32Array a:
                w.AppendInteger(a.GetValue(row)!.Value);
                break;
            case UInt64Array a:
                w.AppendFormatted(a.GetValue(row)!.Value);
                break;
            case HalfFloatArray a:
                w.AppendFloat((double)a.GetValue(row)!.Value);
                break;
            case FloatArray a:
                w.AppendFloat(a.GetValue(row)!.Value);
                break;
            case DoubleArray a:
                w.AppendFloat(a.GetValue(row)!.Value);
                break;
            case Decimal32Array or Decimal64Array or Decimal128Array:
                w.AppendDecimal(Unscaled(array, row), DecimalScale(array.Data.DataType));
                break;
            case Date32Array a:
                w.AppendDate(a.Values[row]);
                break;
            case Date64Array a:
                w.AppendDate((int)Math.Floor(a.Values[row] / 86_400_000.0));
                break;
            case TimestampArray a:
                w.AppendTimestamp(a.Values[row], ((TimestampType)a.Data.DataType).Unit);
                break;
            case Time32Array a:
                w.AppendTime(a.Values[row], ((Time32Type)a.Data.DataType).Unit);
                break;
            case Time64Array a:
                w.AppendTime(a.Values[row], ((Time64Type)a.Data.DataType).Unit);
                break;
            case Apache.Arrow.Arrays.FixedSizeBinaryArray b:
                w.AppendHex(b.GetBytes(row));
                break;
            case DictionaryArray d:
                WriteValue(d.Dictionary, DictionaryIndex(d, row), ref w);
                break;
            default:
                throw new NotSupportedException($"Arrow type {array.Data.DataType.Name} cannot be read");
        }
    }

    private static int DictionaryIndex(DictionaryArray d, int row) => d.Indices switch
    {
        Int8Array i => i.Values[row],
        Int16Array i => i.Values[row],
        Int32Array i => i.Values[row],
        Int64Array i => checked((int)i.Values[row]),
        UInt8Array i => i.Values[row],
        UInt16Array i => i.Values[row],
        UInt32Array i => checked((int)i.Values[row]),
        UInt64Array i => checked((int)i.Values[row]),
        _ => throw new NotSupportedException($"dictionary index type {d.Indices.Data.DataType.Name}"),
    };

    /// <summary>Appends UTF-8 text into a pooled buffer of the batch, growing it as needed.</summary>
    private ref struct Writer(BatchMemory memory, int capacity)
    {
        private byte[] _buffer = memory.RentBytes(Math.Max(capacity, 64));

        public readonly byte[] Buffer => _buffer;

        public int Length { get; private set; }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            Span(bytes.Length);
            bytes.CopyTo(_buffer.AsSpan(Length));
            Length += bytes.Length;
        }

        public void AppendInteger(long value)
        {
            Utf8Formatter.TryFormat(value, Span(20), out var n);
            Length += n;
        }

        public void AppendFormatted<T>(T value)
            where T : IUtf8SpanFormattable
        {
            value.TryFormat(Span(48), out var n, default, CultureInfo.InvariantCulture);
            Length += n;
        }

        public void AppendFloat(double value)
        {
            value.TryFormat(Span(32), out var n, "R", CultureInfo.InvariantCulture);
            Length += n;
        }

        public void AppendDecimal(Int128 unscaled, int scale)
        {
            Span<byte> digits = stackalloc byte[48];
            var negative = unscaled < 0;
            var magnitude = negative ? (UInt128)(-(unscaled + 1)) + 1 : (UInt128)unscaled;
            magnitude.TryFormat(digits, out var n, default, CultureInfo.InvariantCulture);
            var dest = Span(n + scale + 3);
            var at = 0;
            if (negative)
            {
                dest[at++] = (byte)'-';
            }

            if (scale <= 0)
            {
                digits[..n].CopyTo(dest[at..]);
                at += n;
                for (var i = 0; i < -scale; i++)
                {
                    dest[at++] = (byte)'0';
                }
            }
            else
            {
                var whole = n - scale;
                if (whole <= 0)
                {
                    dest[at++] = (byte)'0';
                    dest[at++] = (byte)'.';
                    for (var i = 0; i < -whole; i++)
                    {
                        dest[at++] = (byte)'0';
                    }

                    digits[..n].CopyTo(dest[at..]);
                    at += n;
                }
                else
                {
                    digits[..whole].CopyTo(dest[at..]);
                    at += whole;
                    dest[at++] = (byte)'.';
                    digits[whole..n].CopyTo(dest[at..]);
                    at += scale;
                }
            }

            Length += at;
        }

        public void AppendDate(int days)
        {
            var day = UnixEpochDay + (long)days;
            if (day < DateOnly.MinValue.DayNumber || day > DateOnly.MaxValue.DayNumber)
            {
                AppendInteger(days); // outside years 1..9999: the day number, which no date column accepts
                return;
            }

            DateOnly.FromDayNumber((int)day).TryFormat(Span(10), out var n, "yyyy-MM-dd", CultureInfo.InvariantCulture);
            Length += n;
        }

        public void AppendTimestamp(long value, TimeUnit unit)
        {
            var (perSecond, digits) = Units(unit);
            var seconds = Math.DivRem(value, perSecond, out var fraction);
            if (fraction < 0)
            {
                seconds--;
                fraction += perSecond;
            }

            var days = Math.DivRem(seconds, 86_400, out var secondOfDay);
            if (secondOfDay < 0)
            {
                days--;
                secondOfDay += 86_400;
            }

            if (days is < int.MinValue or > int.MaxValue)
            {
                AppendInteger(value);
                return;
            }

            AppendDate((int)days);
            Span(1)[0] = (byte)' ';
            Length++;
            AppendClock(secondOfDay, fraction, digits);
        }

        public void AppendTime(long value, TimeUnit unit)
        {
            var (perSecond, digits) = Units(unit);
            AppendClock(Math.DivRem(value, perSecond, out var fraction), fraction, digits);
        }

        public void AppendHex(ReadOnlySpan<byte> bytes)
        {
            var dest = Span(bytes.Length * 2);
            Convert.TryToHexStringLower(bytes, dest, out var n);
            Length += n;
        }

        private void AppendClock(long secondOfDay, long fraction, int digits)
        {
            var dest = Span(8 + 1 + digits);
            Two(dest, (int)(secondOfDay / 3600));
            dest[2] = (byte)':';
            Two(dest[3..], (int)(secondOfDay / 60 % 60));
            dest[5] = (byte)':';
            Two(dest[6..], (int)(secondOfDay % 60));
            var at = 8;
            if (fraction != 0)
            {
                dest[at++] = (byte)'.';
                for (var i = digits - 1; i >= 0; i--)
                {
                    dest[at + i] = (byte)('0' + (int)(fraction % 10));
                    fraction /= 10;
                }

                at += digits;
            }

            Length += at;
        }

        private static void Two(Span<byte> dest, int value)
        {
            dest[0] = (byte)('0' + value / 10);
            dest[1] = (byte)('0' + value % 10);
        }

        private Span<byte> Span(int needed)
        {
            if (Length + needed > _buffer.Length)
            {
                var bigger = memory.RentBytes(Math.Max(_buffer.Length * 2, Length + needed));
                _buffer.AsSpan(0, Length).CopyTo(bigger);
                _buffer = bigger;
            }

            return _buffer.AsSpan(Length);
        }
    }

    /// <summary>A decimal column's unscaled value (Decimal32/64/128 all fit an Int128).</summary>
    public static Int128 Unscaled(IArrowArray array, int row) => array switch
    {
        Decimal32Array a => MemoryMarshal.Cast<byte, int>(a.ValueBuffer.Span)[a.Offset + row],
        Decimal64Array a => MemoryMarshal.Cast<byte, long>(a.ValueBuffer.Span)[a.Offset + row],
        Decimal128Array a => MemoryMarshal.Cast<byte, Int128>(a.ValueBuffer.Span)[a.Offset + row],
        _ => throw new ArgumentException($"not a decimal: {array.Data.DataType.Name}", nameof(array)),
    };

    /// <summary>The scale of a decimal type, -1 for any other.</summary>
    public static int DecimalScale(IArrowType type) => type switch
    {
        Decimal32Type t => t.Scale,
        Decimal64Type t => t.Scale,
        Decimal128Type t => t.Scale,
        _ => -1,
    };

    private static readonly int UnixEpochDay = DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;

    private static (long PerSecond, int Digits) Units(TimeUnit unit) => unit switch
    {
        TimeUnit.Second => (1, 0),
        TimeUnit.Millisecond => (1_000, 3),
        TimeUnit.Microsecond => (1_000_000, 6),
        _ => (1_000_000_000, 9),
    };
}
