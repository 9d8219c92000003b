using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using EtlStream.Tables;

namespace EtlStream.Transforms;

/// <summary>Parses one UTF-8 value into its typed form; a failure gives a reason (a constant string, so success allocates nothing).</summary>
internal interface IValueParser<T>
    where T : unmanaged
{
    bool TryParse(ReadOnlySpan<byte> text, out T value, out string? reason);
}

internal readonly struct Int64Parser : IValueParser<long>
{
    public bool TryParse(ReadOnlySpan<byte> text, out long value, out string? reason) =>
        Integers.TryParse(text, long.MinValue, long.MaxValue, out value, out reason);
}

internal readonly struct Int32Parser : IValueParser<int>
{
    public bool TryParse(ReadOnlySpan<byte> text, out int value, out string? reason)
    {
        var ok = Integers.TryParse(text, int.MinValue, int.MaxValue, out var v, out reason);
        value = (int)v;
        return ok;
    }
}

internal readonly struct Int16Parser : IValueParser<short>
{
    public bool TryParse(ReadOnlySpan<byte> text, out short value, out string? reason)
    {
        var ok = Integers.TryParse(text, short.MinValue, short.MaxValue, out var v, out reason);
        value = (short)v;
        return ok;
    }
}

internal readonly struct Int8Parser : IValueParser<sbyte>
{
    public bool TryParse(ReadOnlySpan<byte> text, out sbyte value, out string? reason)
    {
        var ok = Integers.TryParse(text, sbyte.MinValue, sbyte.MaxValue, out var v, out reason);
        value = (sbyte)v;
        return ok;
    }
}

internal static class Integers
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParse(ReadOnlySpan<byte> text, long min, long max, out long value, out string? reason)
    {
        text = Text.TrimSpaces(text);
        if (!Utf8Parser.TryParse(text, out value, out var consumed) || consumed != text.Length || text.Length == 0)
        {
            reason = Text.LooksNumeric(text) ? "integer out of range" : "not an integer";
            return false;
        }

        if (value < min || value > max)
        {
            reason = "integer out of range";
            return false;
        }

        reason = null;
        return true;
    }
}

internal readonly struct DoubleParser : IValueParser<double>
{
    public bool TryParse(ReadOnlySpan<byte> text, out double value, out string? reason)
    {
        text = Text.TrimSpaces(text);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            reason = "not a number";
            return false;
        }

        // .NET rounds a finite number beyond double's range to ±Infinity; only an explicit "Infinity" may be one.
        if (double.IsInfinity(value) && text.IndexOfAnyInRange((byte)'0', (byte)'9') >= 0)
        {
            value = 0;
            reason = "float out of range (beyond ±1.7976931348623157E+308)";
            return false;
        }

        reason = null;
        return true;
    }
}

/// <summary>Decimal text to an unscaled 128-bit integer at the column's scale (Arrow's Decimal128 layout); extra places round half away from zero.</summary>
internal readonly struct DecimalParser(int precision, int scale) : IValueParser<Int128>
{
    /// <summary>10^0 … 10^38: the bound of each decimal precision and the factor of each rescale (TypedCast uses them too).</summary>
    internal static readonly Int128[] PowersOf10 = BuildPowers();

    public bool TryParse(ReadOnlySpan<byte> text, out Int128 value, out string? reason)
    {
        text = Text.TrimSpaces(text);
        if (TryParseShort(text, out value))
        {
            reason = null;
            return true;
        }

        value = default;
        var i = 0;
        var negative = false;
        if (i < text.Length && (text[i] == (byte)'-' || text[i] == (byte)'+'))
        {
            negative = text[i] == (byte)'-';
            i++;
        }

        // Up to 18 digits fit a ulong, which is all the standard job ever needs; wider values continue in Int128.
        ulong small = 0;
        Int128 wide = 0;
        var useWide = false;
        var digits = 0;
        var intDigits = 0;
        for (; i < text.Length; i++)
        {
            var d = (uint)(text[i] - (byte)'0');
            if (d > 9)
            {
                break;
            }

            if (intDigits > 0 || d != 0)
            {
                intDigits++;
            }

            Accumulate(ref small, ref wide, ref useWide, d, ref digits);
        }

        var anyDigits = i > (negative || (text.Length > 0 && text[0] == (byte)'+') ? 1 : 0);
        var fraction = 0;
        var roundUp = false;
        if (i < text.Length && text[i] == (byte)'.')
        {
            i++;
            for (; i < text.Length; i++)
            {
                var d = (uint)(text[i] - (byte)'0');
                if (d > 9)
                {
                    break;
                }

                anyDigits = true;
                if (fraction < scale)
                {
                    Accumulate(ref small, ref wide, ref useWide, d, ref digits);
                    fraction++;
                }
                else if (fraction == scale)
                {
                    roundUp = d >= 5;
                    fraction++;
                }
            }
        }

        if (i != text.Length || !anyDigits)
        {
            reason = "not a decimal number";
            return false;
        }

        if (intDigits > precision - scale)
        {
            reason = "decimal out of range";
            return false;
        }

        var result = useWide ? wide : (Int128)small;
        for (var f = Math.Min(fraction, scale); f < scale; f++)
        {
            result *= 10;
        }

        if (roundUp)
        {
            result += 1;
            if (result >= PowersOf10[precision])
            {
                reason = "decimal out of range";
                return false;
            }
        }

        value = negative ? -result : result;
        reason = null;
        return true;
    }

    /// <summary>
    /// The common case in one pass: up to 19 characters, no rounding needed, in range. Anything else (rounding,
    /// wide values, errors) takes the general path, which gives the same results and the reasons.
    /// </summary>
    private bool TryParseShort(ReadOnlySpan<byte> text, out Int128 value)
    {
        value = default;
        if (text.Length is 0 or > 19)
        {
            return false;
        }

        var i = 0;
        var negative = text[0] == (byte)'-';
        if (negative || text[0] == (byte)'+')
        {
            i = 1;
        }

        ulong acc = 0;
        var digits = 0;
        var fraction = -1;
        for (; i < text.Length; i++)
        {
            var d = (uint)(text[i] - (byte)'0');
            if (d <= 9)
            {
                acc = (acc * 10) + d;
                digits++;
                if (fraction >= 0)
                {
                    fraction++;
                }
            }
            else if (text[i] == (byte)'.' && fraction < 0)
            {
                fraction = 0;
            }
            else
            {
                return false;
            }
        }

        var places = Math.Max(fraction, 0);
        if (digits == 0 || places > scale)
        {
            return false;
        }

        var result = (Int128)acc * PowersOf10[scale - places];
        if (result >= PowersOf10[precision])
        {
            return false; // out of range: the general path says so
        }

        value = negative ? -result : result;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(ref ulong small, ref Int128 wide, ref bool useWide, uint d, ref int digits)
    {
        if (!useWide && digits < 18)
        {
            small = (small * 10) + d;
        }
        else
        {
            if (!useWide)
            {
                wide = small;
                useWide = true;
            }

            if (digits < 38)
            {
                wide = (wide * 10) + d;
            }
        }

        if (small != 0 || useWide || d != 0)
        {
            digits++;
        }
    }

    private static Int128[] BuildPowers()
    {
        var p = new Int128[39];
        p[0] = 1;
        for (var i = 1; i < p.Length; i++)
        {
            p[i] = p[i - 1] * 10;
        }

        return p;
    }
}

internal readonly struct DateParser(DateTimePattern pattern) : IValueParser<int>
{
    public bool TryParse(ReadOnlySpan<byte> text, out int value, out string? reason)
    {
        if (pattern.TryParse(Text.TrimSpaces(text), out var days, out _))
        {
            value = days;
            reason = null;
            return true;
        }

        value = 0;
        reason = $"not a date in the form {pattern.Text}";
        return false;
    }
}

internal readonly struct TimestampParser(DateTimePattern pattern) : IValueParser<long>
{
    public bool TryParse(ReadOnlySpan<byte> text, out long value, out string? reason)
    {
        if (pattern.TryParse(Text.TrimSpaces(text), out var days, out var micros))
        {
            value = (days * 86_400_000_000L) + micros;
            reason = null;
            return true;
        }

        value = 0;
        reason = $"not a timestamp in the form {pattern.Text}";
        return false;
    }
}

/// <summary>Boolean tokens, compared ignoring ASCII case.</summary>
internal sealed class BoolTokens(IReadOnlyList<string>? trueTokens, IReadOnlyList<string>? falseTokens)
{
    private static readonly string[] DefaultTrue = ["true", "t", "1", "y", "yes"];
    private static readonly string[] DefaultFalse = ["false", "f", "0", "n", "no"];

    private readonly byte[][] _true = Encode(trueTokens ?? DefaultTrue);
    private readonly byte[][] _false = Encode(falseTokens ?? DefaultFalse);

    public string Describe => $"expected one of {string.Join(", ", (trueTokens ?? DefaultTrue).Concat(falseTokens ?? DefaultFalse))}";

    public bool TryParse(ReadOnlySpan<byte> text, out bool value)
    {
        text = Text.TrimSpaces(text);
        foreach (var t in _true)
        {
            if (Ascii.EqualsIgnoreCase(text, t))
            {
                value = true;
                return true;
            }
        }

        foreach (var f in _false)
        {
            if (Ascii.EqualsIgnoreCase(text, f))
            {
                value = false;
                return true;
            }
        }

        value = false;
        return false;
    }

    private static byte[][] Encode(IReadOnlyList<string> tokens)
    {
        var r = new byte[tokens.Count][];
        for (var i = 0; i < r.Length; i++)
        {
            r[i] = Encoding.UTF8.GetBytes(tokens[i]);
        }

        return r;
    }
}

internal static class Text
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> TrimSpaces(ReadOnlySpan<byte> s)
    {
        if (s.Length == 0 || (s[0] > (byte)' ' && s[^1] > (byte)' '))
        {
            return s;
        }

        var start = 0;
        var end = s.Length;
        while (start < end && (s[start] == (byte)' ' || s[start] == (byte)'\t'))
        {
            start++;
        }

        while (end > start && (s[end - 1] == (byte)' ' || s[end - 1] == (byte)'\t'))
        {
            end--;
        }

        return s[start..end];
    }

    public static bool LooksNumeric(ReadOnlySpan<byte> s)
    {
        if (s.Length > 0 && (s[0] == (byte)'-' || s[0] == (byte)'+'))
        {
            s = s[1..];
        }

        return s.Length > 0 && s.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
    }
}

/// <summary>Parsers for a column's declared type, shared by the cast kernels and spec validation.</summary>
internal static class ValueParsers
{
    public const string DefaultDateFormat = "yyyy-MM-dd";
    public const string DefaultTimestampFormat = "yyyy-MM-dd HH:mm:ss";

    public static DateTimePattern PatternFor(ColumnSpec column) =>
        DateTimePattern.TryCompile(column.Format ?? (column.Type.Kind == ColumnKind.Date ? DefaultDateFormat : DefaultTimestampFormat), out _)
        ?? throw new InvalidOperationException($"column '{column.Name}': invalid format '{column.Format}'");

    /// <summary>Whether <paramref name="text"/> is a valid value of the column's type (used for filter literals).</summary>
    public static bool CanParse(ColumnSpec column, string text, out string? reason)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var t = column.Type;
        reason = null;
        switch (t.Kind)
        {
            case ColumnKind.String:
                return true;
            case ColumnKind.Int8 or ColumnKind.Int16 or ColumnKind.Int32 or ColumnKind.Int64:
                return new Int64Parser().TryParse(bytes, out _, out reason);
            case ColumnKind.Decimal:
                return new DecimalParser(t.Precision, t.Scale).TryParse(bytes, out _, out reason);
            case ColumnKind.Float64:
                return new DoubleParser().TryParse(bytes, out _, out reason);
            case ColumnKind.Bool:
                var tokens = new BoolTokens(column.TrueTokens, column.FalseTokens);
                if (tokens.TryParse(bytes, out _))
                {
                    return true;
                }

                reason = tokens.Describe;
                return false;
            case ColumnKind.Date:
                return new DateParser(PatternFor(column)).TryParse(bytes, out _, out reason);
            case ColumnKind.Timestamp:
                return new TimestampParser(PatternFor(column)).TryParse(bytes, out _, out reason);
            default:
                return false;
        }
    }
}
