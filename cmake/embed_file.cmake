# cmake -DINPUT=FILE -DOUTPUT=FILE.cc -DSYMBOL=name -DNAMESPACE=ns -P embed_file.cmake
# Writes a C++ source defining `const unsigned char SYMBOL[]` and `const size_t SYMBOL_size`
# in namespace NAMESPACE with the bytes of INPUT: binary data built into a program without a
# file to find at run time.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# A line break every 16 bytes keeps the generated file readable for compilers and people.
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}"
     "// Generated from ${INPUT} by cmake/embed_file.cmake; do not edit.\n"
     "#include <cstddef>\n"
     "namespace ${NAMESPACE} {\n"
     "extern const unsigned char ${SYMBOL}[] = {\n${bytes}\n};\n"
     "extern const std::size_t ${SYMBOL}_size = ${size};\n"
     "}  // namespace ${NAMESPACE}\n")
