using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Formats;
using EtlStream.Tables;

namespace EtlStream.Transforms;

/// <summary>
/// Casts a typed source column (Parquet, Arrow) to a spec column's type without going through text, where the
/// conversion is a number's or a date's own: integers of any width and sign into any integer column (out of range:
/// rejected), into float64 and into a decimal; floats into float64; decimals rescaled in 128-bit integers, rounding
/// half away from zero as decimal text does; date32/date64/timestamps of any unit into date (the day, as SQL's CAST)
/// and into timestamp (microseconds; finer digits dropped toward the past). Any other pair (a string source, a
/// float into a decimal, anything into a string) is read from the column's text (<see cref="TypedColumnText"/>),
/// with the column's <c>format</c> and tokens, exactly as CSV is.
/// </summary>
internal static class TypedCast
{
    private static readonly Int128[] PowersOf10 = DecimalParser.PowersOf10;

    /// <summary>
    /// Reads <paramref name="rows"/> of <paramref name="source"/> into <paramref name="values"/> (T is the physical
    /// type of the reader's column: long for int64 and timestamp, int for int32 and date, Int128 for decimal…),
    /// setting <paramref name="validity"/>; false when there is no typed path, and the caller reads the text.
    /// </summary>
    public static bool TryRead<T>(SourceColumnReader reader, TextBatch batch, IArrowArray source, ReadOnlySpan<int> rows, Span<T> values, Span<byte> validity, RowErrors errors, out int nulls)
        where T : unmanaged
    {
        nulls = 0;
        var target = reader.Column.Type;
        var type = source.Data.DataType;
        var c = new Context(reader, batch, source, rows, validity, errors);
        switch (target.Kind)
        {
            case ColumnKind.Int8:
                return TryInteger(c, MemoryMarshal.Cast<T, sbyte>(values), out nulls);
            case ColumnKind.Int16:
                return TryInteger(c, MemoryMarshal.Cast<T, short>(values), out nulls);
            case ColumnKind.Int32:
                return TryInteger(c, MemoryMarshal.Cast<T, int>(values), out nulls);
            case ColumnKind.Int64:
                return TryInteger(c, MemoryMarshal.Cast<T, long>(values), out nulls);
            case ColumnKind.Float64:
                return TryDouble(c, MemoryMarshal.Cast<T, double>(values), out nulls);
            case ColumnKind.Decimal:
                return TryDecimal(c, MemoryMarshal.Cast<T, Int128>(values), target.Precision, target.Scale, out nulls);
            case ColumnKind.Date:
                var days = MemoryMarshal.Cast<T, int>(values);
                switch (type)
                {
                    case Date32Type:
                        nulls = Loop(c, days, new Same<int>(Values<int>(source)));
                        return true;
                    case Date64Type:
                        nulls = Loop(c, days, new ToDays(Values<long>(source), 86_400_000));
                        return true;
                    case TimestampType t:
                        nulls = Loop(c, days, new ToDays(Values<long>(source), PerSecond(t.Unit) * 86_400));
                        return true;
                }

                return false;
            case ColumnKind.Timestamp:
                var micros = MemoryMarshal.Cast<T, long>(values);
                switch (type)
                {
                    case TimestampType { Unit: TimeUnit.Microsecond }:
                        nulls = Loop(c, micros, new Same<long>(Values<long>(source)));
                        return true;
                    case TimestampType t:
                        nulls = Loop(c, micros, new ToMicros(Values<long>(source), PerSecond(t.Unit)));
                        return true;
                    case Date32Type:
                        nulls = Loop(c, micros, new IntToMicros(Values<int>(source), 86_400_000_000L));
                        return true;
                    case Date64Type:
                        nulls = Loop(c, micros, new ToMicros(Values<long>(source), 1_000));
                        return true;
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>One row through <see cref="TryRead"/>, for a filter or a range rule: false when NULL or not convertible (the row is failed).</summary>
    public static bool TryReadOne<T>(SourceColumnReader reader, TextBatch batch, IArrowArray source, int row, RowErrors errors, out T value, out bool typed)
        where T : unmanaged
    {
        Span<int> one = [row];
        Span<T> values = stackalloc T[1];
        Span<byte> validity = [0];
        typed = TryRead(reader, batch, source, one, values, validity, errors, out var nulls);
        value = values[0];
        return typed && nulls == 0;
    }

    private static bool TryInteger<TOut>(in Context c, Span<TOut> values, out int nulls)
        where TOut : unmanaged, IBinaryInteger<TOut>, IMinMaxValue<TOut>
    {
        var s = c.Source;
        nulls = s switch
        {
            Int8Array a => Loop(c, values, new IntTo<sbyte, TOut>(a.Values)),
            Int16Array a => Loop(c, values, new IntTo<short, TOut>(a.Values)),
            Int32Array a => Loop(c, values, new IntTo<int, TOut>(a.Values)),
            Int64Array a => Loop(c, values, new IntTo<long, TOut>(a.Values)),
            UInt8Array a => Loop(c, values, new IntTo<byte, TOut>(a.Values)),
            UInt16Array a => Loop(c, values, new IntTo<ushort, TOut>(a.Values)),
            UInt32Array a => Loop(c, values, new IntTo<uint, TOut>(a.Values)),
            UInt64Array a => Loop(c, values, new IntTo<ulong, TOut>(a.Values)),
            _ => -1,
        };
        return nulls >= 0;
    }

    private static bool TryDouble(in Context c, Span<double> values, out int nulls)
    {
        var s = c.Source;
        nulls = s switch
        {
            DoubleArray a => Loop(c, values, new Same<double>(a.Values)),
            FloatArray a => Loop(c, values, new ToDouble<float>(a.Values)),
            HalfFloatArray a => Loop(c, values, new ToDouble<Half>(a.Values)),
            Int8Array a => Loop(c, values, new ToDouble<sbyte>(a.Values)),
            Int16Array a => Loop(c, values, new ToDouble<short>(a.Values)),
            Int32Array a => Loop(c, values, new ToDouble<int>(a.Values)),
            Int64Array a => Loop(c, values, new ToDouble<long>(a.Values)),
            UInt8Array a => Loop(c, values, new ToDouble<byte>(a.Values)),
            UInt16Array a => Loop(c, values, new ToDouble<ushort>(a.Values)),
            UInt32Array a => Loop(c, values, new ToDouble<uint>(a.Values)),
            UInt64Array a => Loop(c, values, new ToDouble<ulong>(a.Values)),
            Decimal32Array or Decimal64Array or Decimal128Array => Loop(c, values, new DecimalToDouble(s, TypedColumnText.DecimalScale(s.Data.DataType))),
            _ => -1,
        };
        return nulls >= 0;
    }

    private static bool TryDecimal(in Context c, Span<Int128> values, int precision, int scale, out int nulls)
    {
        var s = c.Source;
        var limit = PowersOf10[precision];
        nulls = s switch
        {
            Decimal128Array a when TypedColumnText.DecimalScale(a.Data.DataType) == scale && ((Decimal128Type)a.Data.DataType).Precision <= precision
                => Loop(c, values, new Same<Int128>(Values<Int128>(a))),
            Decimal128Array a => Loop(c, values, new Rescale<Int128>(Values<Int128>(a), TypedColumnText.DecimalScale(a.Data.DataType), scale, limit)),
            Decimal64Array a => Loop(c, values, new Rescale<long>(Values<long>(a), TypedColumnText.DecimalScale(a.Data.DataType), scale, limit)),
            Decimal32Array a => Loop(c, values, new Rescale<int>(Values<int>(a), TypedColumnText.DecimalScale(a.Data.DataType), scale, limit)),
            Int8Array a => Loop(c, values, new Rescale<sbyte>(a.Values, 0, scale, limit)),
            Int16Array a => Loop(c, values, new Rescale<short>(a.Values, 0, scale, limit)),
            Int32Array a => Loop(c, values, new Rescale<int>(a.Values, 0, scale, limit)),
            Int64Array a => Loop(c, values, new Rescale<long>(a.Values, 0, scale, limit)),
            UInt8Array a => Loop(c, values, new Rescale<byte>(a.Values, 0, scale, limit)),
            UInt16Array a => Loop(c, values, new Rescale<ushort>(a.Values, 0, scale, limit)),
            UInt32Array a => Loop(c, values, new Rescale<uint>(a.Values, 0, scale, limit)),
            UInt64Array a => Loop(c, values, new Rescale<ulong>(a.Values, 0, scale, limit)),
            _ => -1,
        };
        return nulls >= 0;
    }

    /// <summary>A fixed-width array's values (its offset applied) as <typeparamref name="TValue"/>.</summary>
    private static ReadOnlySpan<TValue> Values<TValue>(IArrowArray array)
        where TValue : unmanaged =>
        MemoryMarshal.Cast<byte, TValue>(array.Data.Buffers[1].Span).Slice(array.Offset, array.Length);

    private static long PerSecond(TimeUnit unit) => unit switch
    {
        TimeUnit.Second => 1,
        TimeUnit.Millisecond => 1_000,
        TimeUnit.Microsecond => 1_000_000,
        _ => 1_000_000_000,
    };

    /// <summary>
    /// The one kernel every pair shares: NULLs as the text path treats them (a NOT NULL column fails the row), each
    /// value through <paramref name="convert"/>, a value that does not convert failed as a conversion with its text.
    /// A plain copy of a whole batch without NULLs is one block copy.
    /// </summary>
    private static int Loop<TOut, TConvert>(in Context c, Span<TOut> values, TConvert convert)
        where TOut : unmanaged
        where TConvert : IConvert<TOut>, allows ref struct
    {
        var source = c.Source;
        var rows = c.Rows;
        var hasNulls = source.NullCount > 0;
        if (!hasNulls && rows.Length == source.Length && convert.CopyAll(values))
        {
            SetAll(c.Validity, rows.Length);
            return 0;
        }

        var nulls = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            var row = rows[i];
            if (hasNulls && !source.IsValid(row))
            {
                c.Reader.NullOrFail(c.Batch, row, c.Errors);
                values[i] = default;
                nulls++;
                continue;
            }

            if (convert.TryConvert(row, out values[i], out var reason))
            {
                c.Validity[i >> 3] |= (byte)(1 << (i & 7));
                continue;
            }

            c.Errors.Fail(c.Reader.Error(c.Batch, row, TypedColumnText.Describe(source, row), reason!), row, Rules.Conversion);
            values[i] = default;
            nulls++;
        }

        return nulls;
    }

    private static void SetAll(Span<byte> validity, int rows)
    {
        validity[..(rows >> 3)].Fill(0xFF);
        for (var i = rows & ~7; i < rows; i++)
        {
            validity[i >> 3] |= (byte)(1 << (i & 7));
        }
    }

    private readonly ref struct Context(SourceColumnReader reader, TextBatch batch, IArrowArray source, ReadOnlySpan<int> rows, Span<byte> validity, RowErrors errors)
    {
        public SourceColumnReader Reader { get; } = reader;

        public TextBatch Batch { get; } = batch;

        public IArrowArray Source { get; } = source;

        public ReadOnlySpan<int> Rows { get; } = rows;

        public Span<byte> Validity { get; } = validity;

        public RowErrors Errors { get; } = errors;
    }

    private interface IConvert<TOut>
    {
        bool TryConvert(int row, out TOut value, out string? reason);

        /// <summary>Copies every value at once when the conversion is the identity; false otherwise.</summary>
        bool CopyAll(Span<TOut> values);
    }

    private readonly ref struct Same<T>(ReadOnlySpan<T> source) : IConvert<T>
        where T : unmanaged
    {
        private readonly ReadOnlySpan<T> _source = source;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryConvert(int row, out T value, out string? reason)
        {
            value = _source[row];
            reason = null;
            return true;
        }

        public bool CopyAll(Span<T> values)
        {
            _source.CopyTo(values);
            return true;
        }
    }

    private readonly ref struct IntTo<TIn, TOut>(ReadOnlySpan<TIn> source) : IConvert<TOut>
        where TIn : unmanaged, IBinaryInteger<TIn>
        where TOut : unmanaged, IBinaryInteger<TOut>, IMinMaxValue<TOut>
    {
        private static readonly Int128 Min = Int128.CreateTruncating(TOut.MinValue);
        private static readonly Int128 Max = Int128.CreateTruncating(TOut.MaxValue);
        private readonly ReadOnlySpan<TIn> _source = source;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryConvert(int row, out TOut value, out string? reason)
        {
            var v = Int128.CreateTruncating(_source[row]);
            if (v < Min || v > Max)
            {
                value = default;
                reason = "integer out of range";
                return false;
            }

            value = TOut.CreateTruncating(v);
            reason = null;
            return true;
        }

        public bool CopyAll(Span<TOut> values)
        {
            if (typeof(TIn) != typeof(TOut))
            {
                return false;
            }

            MemoryMarshal.Cast<TIn, TOut>(_source).CopyTo(values);
            return true;
        }
    }

    private readonly ref struct ToDouble<TIn>(ReadOnlySpan<TIn> source) : IConvert<double>
        where TIn : unmanaged, INumberBase<TIn>
    {
        private readonly ReadOnlySpan<TIn> _source = source;

        public bool TryConvert(int row, out double value, out string? reason)
        {
            value = double.CreateTruncating(_source[row]);
            reason = null;
            return true;
        }

        public bool CopyAll(Span<double> values) => false;
    }

    /// <summary>
    /// A decimal as a double, correctly rounded: one division of two exact doubles where both are exact (as
    /// parsing its text gives), else through its text.
    /// </summary>
    private readonly ref struct DecimalToDouble(IArrowArray source, int scale) : IConvert<double>
    {
        private static readonly Int128 Exact = (Int128)1 << 53;

        public bool TryConvert(int row, out double value, out string? reason)
        {
            reason = null;
            var unscaled = TypedColumnText.Unscaled(source, row);
            if (scale <= 22 && unscaled < Exact && unscaled > -Exact)
            {
                value = (double)unscaled / Math.Pow(10, scale);
                return true;
            }

            value = double.Parse(TypedColumnText.Describe(source, row), System.Globalization.CultureInfo.InvariantCulture);
            return true;
        }

        public bool CopyAll(Span<double> values) => false;
    }

    /// <summary>An unscaled integer at <paramref name="from"/> places to one at <paramref name="to"/>, within <paramref name="limit"/> (10^precision).</summary>
    private readonly ref struct Rescale<TIn>(ReadOnlySpan<TIn> source, int from, int to, Int128 limit) : IConvert<Int128>
        where TIn : unmanaged, IBinaryInteger<TIn>
    {
        private readonly ReadOnlySpan<TIn> _source = source;

        public bool TryConvert(int row, out Int128 value, out string? reason)
        {
            var v = Int128.CreateTruncating(_source[row]);
            if (to >= from)
            {
                var factor = PowersOf10[to - from];
                var bound = limit / factor;
                if (v >= bound || v <= -bound)
                {
                    value = default;
                    reason = "decimal out of range";
                    return false;
                }

                value = v * factor;
            }
            else
            {
                var divisor = PowersOf10[from - to];
                var quotient = Int128.DivRem(v, divisor);
                value = quotient.Quotient;
                var twice = Int128.Abs(quotient.Remainder) * 2;
                if (twice >= divisor)
                {
                    value += Int128.Sign(v);
                }

                if (value >= limit || value <= -limit)
                {
                    value = default;
                    reason = "decimal out of range";
                    return false;
                }
            }

            reason = null;
            return true;
        }

        public bool CopyAll(Span<Int128> values) => false;
    }

    /// <summary>A count of some unit since the epoch to a day number, floored (the day a timestamp falls on).</summary>
    private readonly ref struct ToDays(ReadOnlySpan<long> source, long perDay) : IConvert<int>
    {
        private readonly ReadOnlySpan<long> _source = source;

        public bool TryConvert(int row, out int value, out string? reason)
        {
            var days = Math.DivRem(_source[row], perDay, out var rest);
            if (rest < 0)
            {
                days--;
            }

            reason = null;
            if (days is < int.MinValue or > int.MaxValue)
            {
                value = default;
                reason = "date out of range";
                return false;
            }

            value = (int)days;
            return true;
        }

        public bool CopyAll(Span<int> values) => false;
    }

    /// <summary>Seconds, milliseconds or nanoseconds to microseconds (finer digits floored away), range-checked.</summary>
    private readonly ref struct ToMicros(ReadOnlySpan<long> source, long perSecond) : IConvert<long>
    {
        private readonly ReadOnlySpan<long> _source = source;

        public bool TryConvert(int row, out long value, out string? reason)
        {
            var v = _source[row];
            reason = null;
            if (perSecond > 1_000_000)
            {
                var per = perSecond / 1_000_000;
                value = Math.DivRem(v, per, out var rest);
                if (rest < 0)
                {
                    value--;
                }

                return true;
            }

            var factor = 1_000_000 / perSecond;
            if (v > long.MaxValue / factor || v < long.MinValue / factor)
            {
                value = default;
                reason = "timestamp out of range";
                return false;
            }

            value = v * factor;
            return true;
        }

        public bool CopyAll(Span<long> values) => false;
    }

    private readonly ref struct IntToMicros(ReadOnlySpan<int> source, long factor) : IConvert<long>
    {
        private readonly ReadOnlySpan<int> _source = source;

        public bool TryConvert(int row, out long value, out string? reason)
        {
            value = _source[row] * factor;
            reason = null;
            return true;
        }

        public bool CopyAll(Span<long> values) => false;
    }
}
