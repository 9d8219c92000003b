using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace EtlStream.Sources.Local;

/// <summary>Lists local inputs: one file, every file under a folder, or a glob (<c>*</c>, <c>?</c>, <c>**</c>).</summary>
public static class LocalFileSource
{
    /// <summary>The files <paramref name="input"/> names, sorted by path; fails when there are none.</summary>
    public static IReadOnlyList<SourceFile> List(string input)
    {
        IEnumerable<string> paths;
        if (File.Exists(input))
        {
            paths = [input];
        }
        else if (Directory.Exists(input))
        {
            paths = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories);
        }
        else if (input.AsSpan().IndexOfAny('*', '?') >= 0)
        {
            paths = Glob(input);
        }
        else
        {
            throw new FileNotFoundException($"{input}: no such file or folder", input);
        }

        var files = paths
            .Where(p => !Path.GetFileName(p).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .Select(ForPath)
            .ToList();
        return files.Count > 0 ? files : throw new FileNotFoundException($"{input}: matches no files", input);
    }

    /// <summary>One file as a source; opening it fails when the file is gone or no longer the version listed.</summary>
    public static SourceFile ForPath(string path)
    {
        var info = new FileInfo(path);
        var version = Version(info);
        return new SourceFile(path, info.Length, version, _ => ValueTask.FromResult(Open(path, version)))
        {
            LastModified = new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero),
        };
    }

    private static string Version(FileInfo info) => string.Create(CultureInfo.InvariantCulture, $"{info.Length}-{info.LastWriteTimeUtc.Ticks}");

    private static Stream Open(string path, string version)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw SourceException.Gone(path, version);
        }

        if (Version(new FileInfo(path)) != version)
        {
            stream.Dispose();
            throw SourceException.Replaced(path, version);
        }

        return stream;
    }

    private static IEnumerable<string> Glob(string pattern)
    {
        var full = Path.GetFullPath(pattern);
        var segments = full.Split(Path.DirectorySeparatorChar);
        var fixedCount = Array.FindIndex(segments, s => s.AsSpan().IndexOfAny('*', '?') >= 0);
        var root = string.Join(Path.DirectorySeparatorChar, segments[..fixedCount]);
        if (root.Length == 0)
        {
            root = Path.DirectorySeparatorChar.ToString();
        }

        if (!Directory.Exists(root))
        {
            return [];
        }

        var regex = new StringBuilder("^");
        regex.Append(Regex.Escape(root.TrimEnd(Path.DirectorySeparatorChar)));
        foreach (var segment in segments[fixedCount..])
        {
            if (segment == "**")
            {
                regex.Append("(/[^/]+)*");
                continue;
            }

            regex.Append('/');
            foreach (var ch in segment)
            {
                regex.Append(ch switch
                {
                    '*' => "[^/]*",
                    '?' => "[^/]",
                    _ => Regex.Escape(ch.ToString()),
                });
            }
        }

        var matcher = new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
        var recursive = segments.Length - fixedCount > 1;
        return Directory.EnumerateFiles(root, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(p => matcher.IsMatch(p));
    }
}
