using System.Globalization;
using System.IO.Enumeration;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Sources.Local;

/// <summary>
/// Lists local inputs: one file, every file under a folder, or a glob (<c>*</c>, <c>?</c>, <c>**</c>); <c>-</c> is
/// standard input. Below a folder, links to folders are never followed and links to files only when the file is
/// inside the folder: a listing stays inside what was named, lists no file twice and cannot loop.
/// </summary>
public static partial class LocalFileSource
{
    /// <summary>The name standard input (<c>-</c>) has in errors, reports and as the default table name.</summary>
    public const string StandardInputName = "stdin";

    /// <summary>The files <paramref name="input"/> names, sorted by path; fails when there are none.</summary>
    /// <param name="logger">Told about each link skipped.</param>
    public static IReadOnlyList<SourceFile> List(string input, ILogger? logger = null)
    {
        if (input == "-")
        {
            return [StandardInput()];
        }

        logger ??= NullLogger.Instance;
        IEnumerable<string> paths;
        if (File.Exists(input))
        {
            paths = [input];
        }
        else if (Directory.Exists(input))
        {
            paths = FilesUnder(input, recursive: true, logger);
        }
        else if (input.AsSpan().IndexOfAny('*', '?') >= 0)
        {
            paths = Glob(input, logger);
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

    /// <summary>
    /// One file as a source; opening it fails when the file is gone or no longer the version listed. A file that is
    /// not a regular one (a FIFO, a device, <c>/dev/stdin</c> on a pipe) lists as 0 bytes and is <see cref="SourceFile.ReadOnce"/>.
    /// </summary>
    public static SourceFile ForPath(string path)
    {
        var info = Stat(path);
        var version = Version(info);
        var lastModified = info.Exists ? new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero) : (DateTimeOffset?)null;
        return !info.Exists || info.Length == 0
            ? new SourceFile(path, 0, version, token => OpenStreamAsync(path, version, token)) { ReadOnce = true, LastModified = lastModified }
            : new SourceFile(path, info.Length, version, _ => ValueTask.FromResult(Open(path, version))) { LastModified = lastModified, LocalPath = Path.GetFullPath(path) };
    }

    /// <summary>
    /// What a path ends at: a link's own size is that of its target's name. The end of <c>/dev/stdin</c> on a pipe
    /// is <c>pipe:[…]</c>, which does not exist as a file.
    /// </summary>
    private static FileInfo Stat(string path)
    {
        var info = new FileInfo(path);
        try
        {
            return info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target ? target : info;
        }
        catch (IOException)
        {
            return info; // a loop: opening it says so
        }
    }

    /// <summary>Standard input as a source, read once as it comes.</summary>
    public static SourceFile StandardInput() =>
        new(StandardInputName, 0, "stream", _ => ValueTask.FromResult<Stream>(new PipeReadStream(Console.OpenStandardInput())))
        {
            ReadOnce = true,
        };

    private static string Version(FileInfo info) => info.Exists ? string.Create(CultureInfo.InvariantCulture, $"{info.Length}-{info.LastWriteTimeUtc.Ticks}") : "stream";

    private static Stream Open(string path, string version)
    {
        var stream = OpenFile(path, version);
        if (Version(Stat(path)) != version)
        {
            stream.Dispose();
            throw SourceException.Replaced(path, version);
        }

        return stream;
    }

    private static FileStream OpenFile(string path, string version)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw SourceException.Gone(path, version);
        }
    }

    /// <summary>
    /// Opens a file listed as 0 bytes. Opening a FIFO waits inside open(2) for a writer, where no token reaches, so it
    /// waits on a pool thread; a pipe's size and time change as it is written, so only a regular file is held to its version.
    /// </summary>
    private static async ValueTask<Stream> OpenStreamAsync(string path, string version, CancellationToken token)
    {
        var opening = Task.Run(() => OpenFile(path, version), CancellationToken.None);
        try
        {
            await opening.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            _ = opening.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw;
        }

        var stream = await opening.ConfigureAwait(false);
        if (!stream.CanSeek)
        {
            return new PipeReadStream(stream);
        }

        if (Version(Stat(path)) != version)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw SourceException.Replaced(path, version);
        }

        return stream;
    }

    /// <summary>
    /// The files below <paramref name="folder"/>, as paths under it. A link to a folder is not followed (one inside
    /// would list its files twice, and may loop; one outside leaves the folder); a link to a file is listed when the
    /// file it ends at is inside the folder. Each link skipped is logged with the reason.
    /// </summary>
    /// <param name="within">The folder links to files must stay in, when larger than <paramref name="folder"/>.</param>
    internal static IEnumerable<string> FilesUnder(string folder, bool recursive, ILogger logger, string? within = null)
    {
        within ??= folder;
        var realFolder = RealPath(within) ?? Path.GetFullPath(within);
        var entries = new FileSystemEnumerable<(string Path, bool IsLink)>(
            folder,
            static (ref FileSystemEntry e) => (e.ToSpecifiedFullPath(), (e.Attributes & FileAttributes.ReparsePoint) != 0),
            new EnumerationOptions { RecurseSubdirectories = recursive, AttributesToSkip = 0, IgnoreInaccessible = false })
        {
            ShouldIncludePredicate = static (ref FileSystemEntry e) => !e.IsDirectory || (e.Attributes & FileAttributes.ReparsePoint) != 0,
            ShouldRecursePredicate = static (ref FileSystemEntry e) => (e.Attributes & FileAttributes.ReparsePoint) == 0,
        };
        foreach (var (path, isLink) in entries)
        {
            if (!isLink)
            {
                yield return path;
                continue;
            }

            var target = RealPath(path);
            if (Directory.Exists(path))
            {
                LogLinkSkipped(logger, path, $"a link to a folder ({target ?? new FileInfo(path).LinkTarget}); links to folders are not followed");
            }
            else if (target is null)
            {
                LogLinkSkipped(logger, path, $"a broken or looping link ({new FileInfo(path).LinkTarget})");
            }
            else if (!IsInside(target, realFolder))
            {
                LogLinkSkipped(logger, path, $"a link to {target}, outside {within}");
            }
            else
            {
                yield return path;
            }
        }
    }

    private static bool IsInside(string path, string folder) =>
        path.StartsWith(folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>
    /// <paramref name="path"/> with every link along it resolved (what realpath(3) gives), or null when a link is
    /// broken or there are more than 40 of them (a loop). .NET resolves only the last link of a path.
    /// </summary>
    internal static string? RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full) ?? Path.DirectorySeparatorChar.ToString();
        var pending = new Stack<string>(Enumerable.Reverse(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries)));
        var resolved = root;
        for (var links = 0; pending.Count > 0;)
        {
            var part = pending.Pop();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                resolved = Path.GetDirectoryName(resolved) ?? root;
                continue;
            }

            var next = Path.Combine(resolved, part);
            var info = new FileInfo(next);
            if (info.LinkTarget is not { } target)
            {
                if (!info.Exists && !Directory.Exists(next))
                {
                    return null;
                }

                resolved = next;
                continue;
            }

            if (++links > 40)
            {
                return null;
            }

            if (Path.IsPathRooted(target))
            {
                resolved = Path.GetPathRoot(target) ?? root;
                target = target[resolved.Length..];
            }

            foreach (var t in Enumerable.Reverse(target.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries)))
            {
                pending.Push(t);
            }
        }

        return resolved;
    }

    private static IEnumerable<string> Glob(string pattern, ILogger logger)
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
        return FilesUnder(root, recursive, logger).Where(p => matcher.IsMatch(p));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: not read: {Reason}")]
    private static partial void LogLinkSkipped(ILogger logger, string path, string reason);
}
