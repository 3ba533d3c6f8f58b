SELECT json_build_array(1, 2);
