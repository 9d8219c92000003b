using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace EtlStream.Sources;

/// <summary>
/// Which object names a listing selects, with <c>/</c> between folders: empty or ending in <c>/</c> is every object
/// under that prefix; a text without wildcards is that object or every object under it as a folder; otherwise a
/// glob (<c>*</c> and <c>?</c> within a folder, <c>**</c> any folders) where <c>{date}</c> stands for a
/// <c>yyyy-MM-dd</c> date. <see cref="Prefix"/> is the literal start a store can list by.
/// </summary>
internal sealed class ObjectNamePattern
{
    private const string DatePlaceholder = "{date}";
    private readonly Regex? _regex;
    private readonly string _text;

    private ObjectNamePattern(string text, string prefix, Regex? regex)
    {
        _text = text;
        Prefix = prefix;
        _regex = regex;
    }

    /// <summary>The part before the first wildcard or placeholder: what to ask the store for.</summary>
    public string Prefix { get; }

    public static ObjectNamePattern Parse(string text)
    {
        var wild = FirstWildcard(text);
        if (wild < 0)
        {
            return new ObjectNamePattern(text, text, null);
        }

        var regex = new StringBuilder("^");
        for (var i = 0; i < text.Length; i++)
        {
            if (string.CompareOrdinal(text, i, DatePlaceholder, 0, DatePlaceholder.Length) == 0)
            {
                regex.Append(@"(?<date>[0-9]{4}-[0-9]{2}-[0-9]{2})");
                i += DatePlaceholder.Length - 1;
            }
            else if (text[i] == '*' && i + 1 < text.Length && text[i + 1] == '*')
            {
                // "**/" is any number of folders; a trailing "**" is anything below.
                var slash = i + 2 < text.Length && text[i + 2] == '/';
                regex.Append(slash ? "(?:[^/]+/)*" : ".*");
                i += slash ? 2 : 1;
            }
            else
            {
                regex.Append(text[i] switch
                {
                    '*' => "[^/]*",
                    '?' => "[^/]",
                    _ => Regex.Escape(text[i].ToString()),
                });
            }
        }

        return new ObjectNamePattern(text, text[..wild], new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant));
    }

    /// <summary>Whether <paramref name="name"/> is selected; with <paramref name="dates"/>, its <c>{date}</c> must be in the range.</summary>
    public bool IsMatch(string name, DateRange? dates)
    {
        if (_regex is null)
        {
            return _text.Length == 0 || _text.EndsWith('/')
                ? name.StartsWith(_text, StringComparison.Ordinal)
                : name == _text || (name.StartsWith(_text, StringComparison.Ordinal) && name.Length > _text.Length && name[_text.Length] == '/');
        }

        var match = _regex.Match(name);
        if (!match.Success)
        {
            return false;
        }

        var date = match.Groups["date"];
        if (!date.Success || dates is not { } range)
        {
            return true;
        }

        return DateOnly.TryParseExact(date.Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) && range.Contains(d);
    }

    public override string ToString() => _text;

    private static int FirstWildcard(string text)
    {
        var wild = text.AsSpan().IndexOfAny('*', '?');
        var date = text.IndexOf(DatePlaceholder, StringComparison.Ordinal);
        return wild < 0 ? date : date < 0 ? wild : Math.Min(wild, date);
    }
}
