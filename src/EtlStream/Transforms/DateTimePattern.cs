using System.Runtime.CompilerServices;

namespace EtlStream.Transforms;

/// <summary>
/// A fixed-width date/time pattern (<c>dd-MM-yyyy</c>, <c>yyyy-MM-dd HH:mm:ss.ffffff</c>) compiled once and
/// matched against UTF-8 bytes without allocating. After <c>ss</c>, an optional <c>.</c> and 1–9 fraction digits
/// are accepted even when the pattern has none, as databases commonly export them.
/// </summary>
internal sealed class DateTimePattern
{
    private enum Kind : byte
    {
        Literal,
        Year,
        Month,
        Day,
        Hour,
        Minute,
        Second,
        Fraction,
    }

    private readonly (Kind Kind, byte Literal, int Width)[] _parts;
    private readonly bool _hasFraction;

    // Where each field sits when the pattern is all fixed-width (no fraction): read directly, without the part loop.
    private readonly int _fixedLength = -1;
    private readonly int _year = -1, _month = -1, _day = -1, _hour = -1, _minute = -1, _second = -1;
    private readonly (int Position, byte Literal)[] _literals = [];

    private DateTimePattern(string text, (Kind, byte, int)[] parts)
    {
        Text = text;
        _parts = parts;
        _hasFraction = Array.Exists(parts, p => p.Item1 == Kind.Fraction);
        if (_hasFraction)
        {
            return;
        }

        var position = 0;
        var literals = new List<(int, byte)>();
        foreach (var (kind, literal, width) in parts)
        {
            switch (kind)
            {
                case Kind.Literal: literals.Add((position, literal)); break;
                case Kind.Year: _year = position; break;
                case Kind.Month: _month = position; break;
                case Kind.Day: _day = position; break;
                case Kind.Hour: _hour = position; break;
                case Kind.Minute: _minute = position; break;
                case Kind.Second: _second = position; break;
            }

            position += width;
        }

        _fixedLength = position;
        _literals = [.. literals];
    }

    /// <summary>The all-fixed-width case: every field at a known position. False means "take the general path".</summary>
    private bool TryParseFixed(ReadOnlySpan<byte> s, out int days, out long micros)
    {
        days = 0;
        micros = 0;
        foreach (var (position, literal) in _literals)
        {
            if (s[position] != literal)
            {
                return false;
            }
        }

        if (!TryDigits(s, _year, 4, out var year) || !TryDigits(s, _month, 2, out var month) || !TryDigits(s, _day, 2, out var day))
        {
            return false;
        }

        int hour = 0, minute = 0, second = 0;
        if ((_hour >= 0 && !TryDigits(s, _hour, 2, out hour)) || (_minute >= 0 && !TryDigits(s, _minute, 2, out minute)) || (_second >= 0 && !TryDigits(s, _second, 2, out second)))
        {
            return false;
        }

        if (month is < 1 or > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        days = DaysFromCivil(year, month, day);
        micros = (((hour * 60L) + minute) * 60L + second) * 1_000_000L;
        return true;
    }

    public string Text { get; }

    public static DateTimePattern? TryCompile(string pattern, out string? error)
    {
        var parts = new List<(Kind, byte, int)>();
        error = null;
        for (var i = 0; i < pattern.Length;)
        {
            var c = pattern[i];
            var run = 1;
            while (i + run < pattern.Length && pattern[i + run] == c)
            {
                run++;
            }

            Kind? kind = (c, run) switch
            {
                ('y', 4) => Kind.Year,
                ('M', 2) => Kind.Month,
                ('d', 2) => Kind.Day,
                ('H', 2) => Kind.Hour,
                ('m', 2) => Kind.Minute,
                ('s', 2) => Kind.Second,
                ('f', <= 9) => Kind.Fraction,
                _ => null,
            };
            if (kind is { } k)
            {
                parts.Add((k, 0, run));
                i += run;
            }
            else if (char.IsAsciiLetter(c) && c != 'T')
            {
                error = $"unsupported pattern '{pattern}': use yyyy, MM, dd, HH, mm, ss, f…f and literal separators";
                return null;
            }
            else if (c > 0x7F)
            {
                error = $"unsupported pattern '{pattern}': separators must be ASCII";
                return null;
            }
            else
            {
                parts.Add((Kind.Literal, (byte)c, 1));
                i++;
            }
        }

        if (!parts.Exists(p => p.Item1 == Kind.Year) || !parts.Exists(p => p.Item1 == Kind.Month) || !parts.Exists(p => p.Item1 == Kind.Day))
        {
            error = $"pattern '{pattern}' needs yyyy, MM and dd";
            return null;
        }

        return new DateTimePattern(pattern, [.. parts]);
    }

    /// <summary>Days since 1970-01-01 and microseconds into the day.</summary>
    public bool TryParse(ReadOnlySpan<byte> s, out int days, out long micros)
    {
        if (s.Length == _fixedLength && TryParseFixed(s, out days, out micros))
        {
            return true;
        }

        days = 0;
        micros = 0;
        int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
        long fractionMicros = 0;
        var pos = 0;
        foreach (var (kind, literal, width) in _parts)
        {
            if (kind == Kind.Literal)
            {
                if (pos >= s.Length || s[pos] != literal)
                {
                    return false;
                }

                pos++;
                continue;
            }

            if (kind == Kind.Fraction)
            {
                if (!TryFraction(s, ref pos, width, width, out fractionMicros))
                {
                    return false;
                }

                continue;
            }

            if (!TryDigits(s, pos, width, out var v))
            {
                return false;
            }

            pos += width;
            switch (kind)
            {
                case Kind.Year: year = v; break;
                case Kind.Month: month = v; break;
                case Kind.Day: day = v; break;
                case Kind.Hour: hour = v; break;
                case Kind.Minute: minute = v; break;
                case Kind.Second:
                    second = v;
                    if (!_hasFraction && pos < s.Length && s[pos] == (byte)'.')
                    {
                        pos++;
                        if (!TryFraction(s, ref pos, 1, 9, out fractionMicros))
                        {
                            return false;
                        }
                    }

                    break;
            }
        }

        if (pos != s.Length || month is < 1 or > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        days = DaysFromCivil(year, month, day);
        micros = (((hour * 60L) + minute) * 60L + second) * 1_000_000L + fractionMicros;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryDigits(ReadOnlySpan<byte> s, int pos, int width, out int value)
    {
        value = 0;
        if (pos + width > s.Length)
        {
            return false;
        }

        for (var i = 0; i < width; i++)
        {
            var d = (uint)(s[pos + i] - (byte)'0');
            if (d > 9)
            {
                return false;
            }

            value = (value * 10) + (int)d;
        }

        return true;
    }

    private static bool TryFraction(ReadOnlySpan<byte> s, ref int pos, int minDigits, int maxDigits, out long micros)
    {
        micros = 0;
        var n = 0;
        long v = 0;
        while (pos < s.Length && n < maxDigits && (uint)(s[pos] - (byte)'0') <= 9)
        {
            v = (v * 10) + (s[pos] - (byte)'0');
            pos++;
            n++;
        }

        if (n < minDigits)
        {
            return false;
        }

        for (; n < 6; n++)
        {
            v *= 10;
        }

        for (; n > 6; n--)
        {
            v /= 10;
        }

        micros = v;
        return true;
    }

    private static int DaysInMonth(int year, int month) =>
        month == 2 ? (DateTime.IsLeapYear(Math.Max(year, 1)) ? 29 : 28) : (month is 4 or 6 or 9 or 11 ? 30 : 31);

    /// <summary>Howard Hinnant's days_from_civil: proleptic Gregorian date to days since 1970-01-01.</summary>
    internal static int DaysFromCivil(int y, int m, int d)
    {
        y -= m <= 2 ? 1 : 0;
        var era = (y >= 0 ? y : y - 399) / 400;
        var yoe = y - (era * 400);
        var doy = ((153 * (m + (m > 2 ? -3 : 9))) + 2) / 5 + d - 1;
        var doe = (yoe * 365) + (yoe / 4) - (yoe / 100) + doy;
        return (era * 146097) + doe - 719468;
    }
}
