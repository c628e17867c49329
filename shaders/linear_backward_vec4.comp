#version 450
// LinearBackward without the dX epilogue; the shader is linear_backward_vec4.glsl.
#include "linear_backward_vec4.glsl"
