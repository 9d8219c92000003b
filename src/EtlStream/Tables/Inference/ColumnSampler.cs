using System.Text;
using EtlStream.Transforms;

namespace EtlStream.Tables.Inference;

/// <summary>
/// Watches one field's sampled values and keeps every type they all fit, narrowest first: bool, int64, decimal,
/// float64, one date/timestamp pattern; string when none is left. Each value is looked at once, as bytes, without
/// allocating; a candidate ruled out is not tried again, so a text column costs a few byte compares per value.
/// The rules (README, "etlstream infer"):
/// <list type="bullet">
/// <item>A number with a leading zero (<c>00501</c>, <c>007</c>) is a code: the column is text.</item>
/// <item>int64: every value is an integer in range (checked with the load's own parser).</item>
/// <item>decimal(p,s): integers and plain decimals; s is the largest scale seen, p = integer digits + s + 3, at least 18, at most 38.</item>
/// <item>float64: an exponent (<c>1.5e3</c>) was seen, or integer digits + scale exceed 38.</item>
/// <item>bool: every value is <c>true</c>/<c>false</c>, or every value is <c>yes</c>/<c>no</c> (any case; not mixed, not <c>t</c>/<c>y</c>/<c>1</c>, which are as often codes).</item>
/// </list>
/// </summary>
internal sealed class ColumnSampler
{
    private const int MaxDecimalDigits = 38;

    /// <summary>Integer digits a decimal gets beyond the sample's widest: values up to 1,000 times larger still fit.</summary>
    private const int PrecisionHeadroom = 3;

    /// <summary>The smallest precision written: decimal(18,s) is stored in 64 bits by every sink and is the common money width.</summary>
    private const int MinPrecision = 18;

    private enum BoolSpelling : byte
    {
        Unseen,
        TrueFalse,
        YesNo,
        None,
    }

    private static readonly byte[] True = "true"u8.ToArray(), False = "false"u8.ToArray(), Yes = "yes"u8.ToArray(), No = "no"u8.ToArray();

    private bool _int = true;
    private bool _decimal = true;
    private bool _float = true;
    private bool _leadingZero;
    private int _intDigits;
    private int _scale;
    private BoolSpelling _bool;
    private uint _patterns = DateTimeCandidates.All;
    private long _values;
    private long _nulls;
    private bool _blanks;
    private bool _spacedBlanks;

    /// <summary>Whether any type but string is still possible: once not, values are only counted.</summary>
    private bool Open => _int || _decimal || _float || _bool != BoolSpelling.None || _patterns != 0;

    public void ObserveNull() => _nulls++;

    public void Observe(ReadOnlySpan<byte> text)
    {
        var t = Text.TrimSpaces(text);
        if (t.Length == 0)
        {
            // A blank says nothing about the type; a typed column reads it as NULL (BlankIsNull).
            _nulls++;
            _blanks = true;
            _spacedBlanks |= text.Length > 0;
            return;
        }

        _values++;
        if (!Open)
        {
            return;
        }

        if (_int || _decimal || _float)
        {
            ObserveNumber(t);
        }

        if (_bool != BoolSpelling.None)
        {
            ObserveBool(t);
        }

        if (_patterns != 0)
        {
            _patterns = DateTimeCandidates.Matching(t, _patterns);
        }
    }

    /// <summary>Adds what <paramref name="other"/> saw, as if its values had been observed here.</summary>
    public void Merge(ColumnSampler other)
    {
        _int &= other._int;
        _decimal &= other._decimal;
        _float &= other._float;
        _leadingZero |= other._leadingZero;
        _intDigits = Math.Max(_intDigits, other._intDigits);
        _scale = Math.Max(_scale, other._scale);
        _bool = (_bool, other._bool) switch
        {
            (var a, BoolSpelling.Unseen) => a,
            (BoolSpelling.Unseen, var b) => b,
            (var a, var b) when a == b => a,
            _ => BoolSpelling.None,
        };
        _patterns &= other._patterns;
        _values += other._values;
        _nulls += other._nulls;
        _blanks |= other._blanks;
        _spacedBlanks |= other._spacedBlanks;
    }

    /// <summary>Whether the values seen have a type other than string (a header row's names have none).</summary>
    public bool IsTyped => Result("").Type.Kind != ColumnKind.String;

    public InferredColumn Result(string header)
    {
        var (type, format, note) = Decide();
        var typed = type.Kind != ColumnKind.String;
        return new InferredColumn(header, type, format, _nulls > 0 || _values == 0, typed && _blanks, typed && _spacedBlanks, note, _values, _nulls);
    }

    private (ColumnType Type, string? Format, string? Note) Decide()
    {
        if (_values == 0)
        {
            return (ColumnType.String, null, "no values in the sample");
        }

        if (_bool is BoolSpelling.TrueFalse or BoolSpelling.YesNo)
        {
            return (new ColumnType(ColumnKind.Bool), null, null);
        }

        if (_int)
        {
            return (new ColumnType(ColumnKind.Int64), null, null);
        }

        if (_decimal && _intDigits + _scale <= MaxDecimalDigits)
        {
            var precision = Math.Clamp(_intDigits + _scale + PrecisionHeadroom, MinPrecision, MaxDecimalDigits);
            return (new ColumnType(ColumnKind.Decimal, precision, _scale), null, null);
        }

        if (_float)
        {
            return (new ColumnType(ColumnKind.Float64), null, null);
        }

        if (_patterns != 0 && (_patterns & (_patterns - 1)) == 0)
        {
            var i = System.Numerics.BitOperations.TrailingZeroCount(_patterns);
            return (new ColumnType(DateTimeCandidates.KindOf(i)), DateTimeCandidates.FormatOf(i), null);
        }

        if (_patterns != 0)
        {
            return (ColumnType.String, null, $"every value is a date as {DateTimeCandidates.Describe(_patterns)}: kept as text; set type and format to the right one");
        }

        return (ColumnType.String, null, _leadingZero ? "numbers with leading zeros (codes): kept as text" : null);
    }

    private void ObserveNumber(ReadOnlySpan<byte> t)
    {
        var i = 0;
        if (t[0] is (byte)'-' or (byte)'+')
        {
            i++;
        }

        var intStart = i;
        while (i < t.Length && (uint)(t[i] - (byte)'0') <= 9)
        {
            i++;
        }

        var intEnd = i;
        var scale = 0;
        var point = i < t.Length && t[i] == (byte)'.';
        if (point)
        {
            i++;
            var fractionStart = i;
            while (i < t.Length && (uint)(t[i] - (byte)'0') <= 9)
            {
                i++;
            }

            scale = i - fractionStart;
        }

        var exponent = false;
        if (i < t.Length && (t[i] | 0x20) == (byte)'e' && intEnd - intStart + scale > 0)
        {
            exponent = true;
            i++;
            if (i < t.Length && t[i] is (byte)'-' or (byte)'+')
            {
                i++;
            }

            var exponentStart = i;
            while (i < t.Length && (uint)(t[i] - (byte)'0') <= 9)
            {
                i++;
            }

            if (i == exponentStart)
            {
                i = -1; // "1e": not a number
            }
        }

        if (i != t.Length || intEnd - intStart + scale == 0)
        {
            NotNumeric();
            return;
        }

        if (intEnd - intStart > 1 && t[intStart] == (byte)'0')
        {
            _leadingZero = true;
            NotNumeric();
            return;
        }

        if (exponent)
        {
            _int = false;
            _decimal = false;
            _float &= new DoubleParser().TryParse(t, out _, out _);
            return;
        }

        if (intEnd - intStart > 300)
        {
            // Past double's range a float64 column would reject the value; text is all that fits it then.
            _float &= new DoubleParser().TryParse(t, out _, out _);
        }

        // "0.5" has no integer digits to keep room for; "-12" has two.
        var intDigits = intEnd - intStart == 1 && t[intStart] == (byte)'0' ? 0 : intEnd - intStart;
        _intDigits = Math.Max(_intDigits, intDigits);
        _scale = Math.Max(_scale, scale);
        if (_int && (point || !Integers.TryParse(t, long.MinValue, long.MaxValue, out _, out _)))
        {
            _int = false;
        }
    }

    private void NotNumeric()
    {
        _int = false;
        _decimal = false;
        _float = false;
    }

    private void ObserveBool(ReadOnlySpan<byte> t)
    {
        var spelling = Ascii.EqualsIgnoreCase(t, True) || Ascii.EqualsIgnoreCase(t, False) ? BoolSpelling.TrueFalse
            : Ascii.EqualsIgnoreCase(t, Yes) || Ascii.EqualsIgnoreCase(t, No) ? BoolSpelling.YesNo
            : BoolSpelling.None;
        _bool = _bool == BoolSpelling.Unseen || _bool == spelling ? spelling : BoolSpelling.None;
    }
}
