using System.Runtime.InteropServices;

namespace EtlStream.Sinks.Csv;

/// <summary>
/// What a file path is before a sink replaces it or a reader opens it. A sink that writes a temp file and renames it
/// over its target would replace a FIFO, a device (<c>/dev/null</c>, as root) or a socket with a regular file, so
/// those are refused; an input that must be a file is checked the same way.
/// </summary>
internal static partial class FileTargetKind
{
    /// <summary>Why <paramref name="path"/> cannot be replaced by a finished file, or null when it is a regular file or absent.</summary>
    public static string? WhyNotReplaceable(string path)
    {
        var kind = NonRegularKind(path, followLinks: false);
        return kind switch
        {
            null => null,
            "a folder" => $"'{path}' is a folder, not a file",
            _ => $"'{path}' is {kind}, not a regular file: the finished file is renamed over the target, which would replace it, so only regular files and new paths are written",
        };
    }

    /// <summary>
    /// Why <paramref name="path"/> cannot be read as a file given by <paramref name="setting"/> (<c>--table</c>), or null
    /// when it is a regular file (through any link) or absent (the read reports that). Opening a FIFO waits for a
    /// writer that may never come, and a folder or device is never a spec, so they are named instead of read.
    /// </summary>
    public static string? WhyNotReadable(string path, string setting, string expected) =>
        NonRegularKind(path, followLinks: true) is { } kind ? $"{setting} {path}: is {kind}, not {expected}" : null;

    /// <summary>
    /// What the path is when it exists and is not a regular file ("a folder", "a FIFO (named pipe)", …); null otherwise.
    /// <paramref name="followLinks"/>: describe what a symbolic link points to, for a file opened in place.
    /// </summary>
    public static string? NonRegularKind(string path, bool followLinks)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return "a folder";
        }

        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        // The BCL exposes no file type beyond folder and link; the runtime's own native shim (shipped with every .NET
        // on Unix) does, with its own stable type constants and the mode as the struct's second int.
        if ((followLinks ? Stat(full, out var status) : LStat(full, out status)) != 0)
        {
            return null; // absent (or unreadable, which the write itself will report)
        }

        return (status.Mode & 0xF000) switch
        {
            0x8000 => null,
            0x4000 => "a folder",
            0x1000 => "a FIFO (named pipe)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xA000 => "a symbolic link",
            0xC000 => "a socket",
            _ => "a special file",
        };
    }

    // Larger than the runtime's FileStatus in any version, so the shim never writes past it.
    [StructLayout(LayoutKind.Sequential, Size = 512)]
    private struct FileStatus
    {
        public int Flags;
        public int Mode;
    }

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_LStat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStat(string path, out FileStatus status);

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, out FileStatus status);
}
